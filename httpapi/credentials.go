package httpapi

import (
	"net/http"

	"github.com/dbplane/dbplane"
)

func (s *Server) registerCredentialRoutes() {
	s.route("GET /v1/tokens", "token.list", s.wrap(s.handleTokenIndex))
	s.route("DELETE /v1/tokens/{token_id}", "token.revoke", s.wrap(s.handleTokenRevoke))
	s.route("POST /v1/access-keys", "access_key.create", s.wrap(s.handleAccessKeyCreate))
	s.route("GET /v1/access-keys", "access_key.list", s.wrap(s.handleAccessKeyIndex))
	s.route("DELETE /v1/access-keys/{access_key_id}", "access_key.delete", s.wrap(s.handleAccessKeyDelete))
}

// tokenList is the answer of GET /v1/tokens.
type tokenList struct {
	Tokens []*dbplane.Token `json:"tokens"`
}

// accessKeyRequest is the body of POST /v1/access-keys. UserID names
// another user than the caller, for admins; 0 means the caller.
type accessKeyRequest struct {
	UserID      int64  `json:"user_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// accessKeyList is the answer of GET /v1/access-keys: keys without their
// secrets.
type accessKeyList struct {
	AccessKeys []*dbplane.AccessKey `json:"access_keys"`
}

// ownerOf returns the user whose credentials a call is about: the user_id
// asked for, else the caller. Whether the caller may act on another user's
// credentials is the service's decision.
func ownerOf(r *http.Request, asked int64) int64 {
	if asked != 0 {
		return asked
	}
	if p := dbplane.PrincipalFrom(r.Context()); p != nil && p.User != nil {
		return p.User.ID
	}
	return 0
}

// handleTokenIndex handles GET /v1/tokens: the caller's unexpired tokens,
// or those of ?user_id= for admins; never their secrets.
func (s *Server) handleTokenIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "user_id")
	user := q.positiveID("user_id")
	if err := q.err(); err != nil {
		return nil, err
	}
	var asked int64
	if user != nil {
		asked = *user
	}
	ts, err := s.Identity.FindTokens(r.Context(), ownerOf(r, asked))
	if err != nil {
		return nil, err
	}
	return tokenList{Tokens: nonNil(ts)}, nil
}

// handleTokenRevoke handles DELETE /v1/tokens/{token_id}: 204; the token
// stops working at once.
func (s *Server) handleTokenRevoke(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathID(r, "token_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	if err := s.Identity.RevokeToken(r.Context(), id); err != nil {
		return nil, err
	}
	return noContent, nil
}

// handleAccessKeyCreate handles POST /v1/access-keys: 201 with the key and
// its secret, the only answer that ever carries the secret.
func (s *Server) handleAccessKeyCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	var req accessKeyRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return nil, err
		}
	}
	if req.UserID < 0 {
		return nil, dbplane.Invalid(dbplane.FieldError{Field: "user_id", Message: "must be a positive integer"})
	}
	k, err := s.Identity.CreateAccessKey(r.Context(), ownerOf(r, req.UserID), req.Description)
	if err != nil {
		return nil, err
	}
	// The secret must not be cached by anything between us and the client.
	w.Header().Set("Cache-Control", "no-store")
	return reply{http.StatusCreated, k}, nil
}

// handleAccessKeyIndex handles GET /v1/access-keys: the caller's keys, or
// those of ?user_id= for admins, without secrets.
func (s *Server) handleAccessKeyIndex(w http.ResponseWriter, r *http.Request) (any, error) {
	q := parseQuery(r, "user_id")
	user := q.positiveID("user_id")
	if err := q.err(); err != nil {
		return nil, err
	}
	var asked int64
	if user != nil {
		asked = *user
	}
	ks, err := s.Identity.FindAccessKeys(r.Context(), ownerOf(r, asked))
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		k.Secret = "" // whatever the service does, a list never shows one
	}
	return accessKeyList{AccessKeys: nonNil(ks)}, nil
}

// handleAccessKeyDelete handles DELETE /v1/access-keys/{access_key_id}:
// 204; requests signed with the key are refused at once.
func (s *Server) handleAccessKeyDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := pathKey(r, "access_key_id")
	if err != nil {
		return nil, err
	}
	if err := parseQuery(r).err(); err != nil {
		return nil, err
	}
	if err := s.Identity.DeleteAccessKey(r.Context(), id); err != nil {
		return nil, err
	}
	return noContent, nil
}
