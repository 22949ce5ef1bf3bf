package frontdoor_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/frontdoor"
)

// decodeTarget stands for a request body type.
type decodeTarget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func decodeBody(body string, limit int64) error {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
	var v decodeTarget
	return frontdoor.DecodeJSON(r, &v)
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		body      string
		kind      dbplane.Kind
		problem   frontdoor.Problem
		field     string
		trailing  bool
		wantInMsg string
	}{
		{body: `{"name":"a","count":1}`},
		{body: ``, kind: dbplane.KindInvalid, problem: frontdoor.ProblemMissing, field: "body", wantInMsg: "required"},
		{body: `{"name":`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemTruncated, field: "body"},
		{body: `{"name" 1}`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemSyntax, field: "body", wantInMsg: "offset"},
		{body: `{"count":"x"}`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemType, field: "count", wantInMsg: "an integer"},
		{body: `{"nmae":"a"}`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemUnknownField, field: "nmae"},
		{body: `{} {}`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemTrailing, field: "body", wantInMsg: "single JSON value"},
		{body: `{} x`, kind: dbplane.KindInvalid, problem: frontdoor.ProblemSyntax, field: "body", trailing: true, wantInMsg: "single JSON value"},
		{body: `{"name":"` + strings.Repeat("a", 100) + `"}`, kind: dbplane.KindTooLarge},
	}
	for _, tt := range tests {
		err := decodeBody(tt.body, 64)
		if got := dbplane.ErrorKind(err); got != tt.kind {
			t.Errorf("%q: kind %v, want %v (%v)", tt.body, got, tt.kind, err)
			continue
		}
		var be *frontdoor.BodyError
		if !errors.As(err, &be) {
			if tt.problem != 0 {
				t.Errorf("%q: %v is no *BodyError", tt.body, err)
			}
			continue
		}
		if be.Problem != tt.problem || be.Field != tt.field || be.Trailing != tt.trailing {
			t.Errorf("%q: got %+v, want problem %v field %q trailing %v", tt.body, be, tt.problem, tt.field, tt.trailing)
		}
		if !strings.Contains(dbplane.ErrorMessage(err), tt.wantInMsg) {
			t.Errorf("%q: message %q lacks %q", tt.body, dbplane.ErrorMessage(err), tt.wantInMsg)
		}
	}
}

func TestDecodeJSONContentType(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	var v decodeTarget
	if err := frontdoor.DecodeJSON(r, &v); dbplane.ErrorKind(err) != dbplane.KindUnsupported {
		t.Errorf("text/plain: %v, want unsupported", err)
	}
}

// FuzzDecodeJSON holds the decoder every door shares to its contract:
// whatever the body, it never panics, and it fails only as a client error.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"name":"a","count":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := decodeBody(string(body), 1<<10)
		switch k := dbplane.ErrorKind(err); k {
		case dbplane.KindOther, dbplane.KindInvalid, dbplane.KindTooLarge:
		default:
			t.Fatalf("%q: kind %v (%v)", body, k, err)
		}
		if dbplane.ErrorKind(err) == dbplane.KindInvalid && !errors.As(err, new(*frontdoor.BodyError)) {
			t.Fatalf("%q: invalid but no *BodyError: %v", body, err)
		}
	})
}
