package ocp

import (
	"errors"
	"net/http"

	"github.com/dbplane/dbplane/frontdoor"
)

// decodeJSON decodes r's body into v with the doors' strict decoder: no
// field OCP does not document (v's type lists those), one value. Failures
// name the field in object's sub errors.
func decodeJSON(r *http.Request, object string, v any) error {
	err := frontdoor.DecodeJSON(r, v)
	var be *frontdoor.BodyError
	if !errors.As(err, &be) {
		return err // nil, or an unsupported type or too large a body
	}
	return invalidErr(subError{Object: object, Field: be.Field, Message: message(be)})
}

// message words a refused body as this door always has: garbage after
// the first value is named for what it is, and a second value or anything
// else encoding/json refuses says the body must be one value.
func message(be *frontdoor.BodyError) string {
	switch be.Problem {
	case frontdoor.ProblemTrailing, frontdoor.ProblemMalformed:
		return "malformed JSON: must hold a single JSON value"
	}
	trailing := *be
	trailing.Trailing = false
	return trailing.Message()
}
