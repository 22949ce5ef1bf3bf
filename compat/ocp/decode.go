package ocp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
)

// decodeJSON decodes r's body into v, strictly: a JSON content type, no
// field OCP does not document (v's type lists those), one value. Failures
// name the field in object's sub errors.
func decodeJSON(r *http.Request, object string, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return dbplane.Errorf(dbplane.KindUnsupported, "Content-Type must be application/json, not %q", ct)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		var extra json.RawMessage
		if err = dec.Decode(&extra); errors.Is(err, io.EOF) {
			return nil
		} else if err == nil {
			err = errors.New("json: more than one value")
		}
	}
	return decodeError(err, object)
}

// decodeError maps encoding/json's errors to sub errors naming the field.
func decodeError(err error, object string) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	bad := func(field, msg string) error {
		return invalidErr(subError{Object: object, Field: field, Message: msg})
	}
	switch {
	case errors.As(err, &mbe):
		return dbplane.Errorf(dbplane.KindTooLarge, "request body exceeds %d bytes", mbe.Limit)
	case errors.Is(err, io.EOF):
		return bad("body", "required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("body", "malformed JSON: unexpected end of input")
	case errors.As(err, &syn):
		return bad("body", fmt.Sprintf("malformed JSON at offset %d", syn.Offset))
	case errors.As(err, &typ):
		return bad(cmpOr(typ.Field, "body"), "must be "+jsonType(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if uq, err := strconv.Unquote(name); err == nil {
			name = uq
		}
		return bad(name, "unknown field")
	}
	return bad("body", "malformed JSON: must hold a single JSON value")
}

// jsonType names a Go kind as a JSON client knows it.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
