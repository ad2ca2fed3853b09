/** One bad field of an incoming signal, named so the sender can fix its alert template. */
export interface FieldError {
  /** The field's path in the body: `ticker`, `meta.note`, `tags[2]`. */
  field: string;
  message: string;
}
