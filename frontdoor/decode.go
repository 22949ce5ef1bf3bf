package frontdoor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
)

// DecodeJSON decodes r's body into v strictly, the same way for every
// front door: the body must say it is JSON, name no field v's type does
// not have (a misspelt field would otherwise be dropped without a word),
// and hold one value and nothing after it. It returns nil; a
// KindUnsupported error for another content type; a KindTooLarge error when
// the body outgrew its http.MaxBytesReader; or a *BodyError, which each
// door turns into its own error shape (field errors, OCP sub errors).
func DecodeJSON(r *http.Request, v any) error {
	if err := RequireJSON(r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err, false)
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return &BodyError{Problem: ProblemTrailing, Field: BodyField}
	default:
		return bodyError(err, true)
	}
}

// RequireJSON refuses, with KindUnsupported (415), a body that does not
// say it is JSON.
func RequireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return dbplane.Errorf(dbplane.KindUnsupported, "Content-Type must be application/json, not %q", ct)
	}
	return nil
}

// TooLarge is the refusal of a body over limit bytes.
func TooLarge(limit int64) error {
	return dbplane.Errorf(dbplane.KindTooLarge, "request body exceeds %d bytes", limit)
}

// BodyField names the whole body in a BodyError, where no one field is at
// fault.
const BodyField = "body"

// Problem says what is wrong with a JSON body.
type Problem uint8

// The problems of a JSON body.
const (
	// ProblemMissing: the body is empty.
	ProblemMissing Problem = iota + 1
	// ProblemTruncated: the body ends inside a value.
	ProblemTruncated
	// ProblemSyntax: the body is not JSON at Offset.
	ProblemSyntax
	// ProblemType: Field holds a value of the wrong type; Want names
	// the right one.
	ProblemType
	// ProblemUnknownField: Field is not a field of the request.
	ProblemUnknownField
	// ProblemTrailing: a second JSON value follows the first.
	ProblemTrailing
	// ProblemMalformed: anything else encoding/json refused, such as a
	// value a type's UnmarshalJSON rejects.
	ProblemMalformed
)

// BodyError is a JSON body DecodeJSON refused, classified so that every
// door can word it in its own format. It is a KindInvalid error.
type BodyError struct {
	Problem Problem
	// Field is the field at fault, BodyField for the body as a whole.
	Field string
	// Offset is where the syntax error is, for ProblemSyntax.
	Offset int64
	// Want names the JSON type Field must have, for ProblemType: "an
	// integer".
	Want string
	// Trailing is set when the problem follows a complete first value:
	// garbage after it rather than in it.
	Trailing bool
}

// Error returns the text of the KindInvalid error e unwraps to.
func (e *BodyError) Error() string { return e.Unwrap().Error() }

// Message words e as the native API does; a door that words some
// problems differently switches on Problem first.
func (e *BodyError) Message() string {
	switch {
	case e.Trailing, e.Problem == ProblemTrailing:
		return "must hold a single JSON value"
	case e.Problem == ProblemMissing:
		return "required"
	case e.Problem == ProblemTruncated:
		return "malformed JSON: unexpected end of input"
	case e.Problem == ProblemSyntax:
		return fmt.Sprintf("malformed JSON at offset %d", e.Offset)
	case e.Problem == ProblemType:
		return "must be " + e.Want
	case e.Problem == ProblemUnknownField:
		return "unknown field"
	}
	return "malformed JSON"
}

// Unwrap makes e a KindInvalid error of one field, so that doors that
// need no wording of their own can pass it on as it is.
func (e *BodyError) Unwrap() error {
	return dbplane.Invalid(dbplane.FieldError{Field: e.Field, Message: e.Message()})
}

// bodyError classifies an error of encoding/json. A body over its limit
// is not the client's JSON at fault, wherever it was cut off.
func bodyError(err error, trailing bool) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	e := &BodyError{Field: BodyField, Trailing: trailing}
	switch {
	case errors.As(err, &mbe):
		return TooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		e.Problem = ProblemMissing
	case errors.Is(err, io.ErrUnexpectedEOF):
		e.Problem = ProblemTruncated
	case errors.As(err, &syn):
		e.Problem, e.Offset = ProblemSyntax, syn.Offset
	case errors.As(err, &typ):
		e.Problem, e.Want = ProblemType, jsonTypeName(typ.Type)
		if typ.Field != "" {
			e.Field = typ.Field
		}
	default:
		e.Problem = ProblemMalformed
		// encoding/json has no type for this one; its text is stable.
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if uq, err := strconv.Unquote(name); err == nil {
				name = uq
			}
			e.Problem, e.Field = ProblemUnknownField, name
		}
	}
	return e
}

// jsonTypeName names a Go type as a JSON client would know it.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a valid value"
}
