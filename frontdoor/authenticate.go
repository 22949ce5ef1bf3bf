package frontdoor

import (
	"context"
	"errors"
	"net/http"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// Authenticate requires a credential that d accepts and serves next with
// its principal in the context (dbplane.WithPrincipal) and in the call's
// audit event. It refuses with KindUnauthorized a request without one, or
// with a wrong one, and with KindTooManyRequests a source that failed too
// often (Config.FailureLimit; requests without a credential count as
// failures), a locked-out user or key (as Auth says), or
// an access key over Config.AccessKeyLimit.
func (d *Door) Authenticate(next http.Handler) http.Handler {
	d.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, cred, err := d.authenticate(r)
		if err != nil {
			d.refuse(w, r, cred.kind, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(dbplane.WithPrincipal(r.Context(), p)))
	})
}

// authenticate returns the principal of r's credential, and the credential
// it presented.
func (d *Door) authenticate(r *http.Request) (*dbplane.Principal, credential, error) {
	cred, err := d.credentials(r)
	// A request without a credential counts as a failure too: refused
	// before the limiter, anonymous calls would be free, and each mutating
	// one costs an audit record. check refuses credNone.
	src := d.sourceKey(r)
	if wait := d.failures.wait(src, d.now()); wait > 0 {
		return nil, cred, tooMany(wait, "failed authentications from this address")
	}
	var (
		p   *dbplane.Principal
		key string
	)
	if err == nil {
		p, key, err = d.check(r, cred)
	}
	if err != nil {
		if dbplane.ErrorKind(err) == dbplane.KindUnauthorized {
			d.failures.spend(src, d.now())
		}
		return nil, cred, err
	}
	if p == nil || p.User == nil {
		return nil, cred, &dbplane.Error{Op: "frontdoor.Authenticate", Kind: dbplane.KindInternal,
			Err: errors.New("the auth service returned no principal")}
	}
	if key != "" {
		if wait := d.keys.allow(key, d.now()); wait > 0 {
			return nil, cred, tooMany(wait, "requests signed with access key "+clip(key))
		}
	}
	if e := dbplane.AuditFrom(r.Context()); e != nil {
		e.User, e.UserID, e.Via = p.Name(), p.User.ID, p.Via
	}
	return p, cred, nil
}

// check asks Auth about a credential. For a signed request it also returns
// the access key, for the per-key rate limit.
func (d *Door) check(r *http.Request, c credential) (p *dbplane.Principal, key string, err error) {
	ctx := r.Context()
	switch c.kind {
	case credBearer:
		p, err = d.Auth.Authenticate(ctx, c.token)
	case credBasic:
		p, err = d.Auth.AuthenticatePassword(ctx, c.user, c.password)
	case credSignature:
		return d.checkSignature(r, c.scheme)
	default:
		err = unauthorized("authentication required: %s", d.accepted())
	}
	return p, "", err
}

// checkSignature verifies a signed request. The claim is parsed first, for
// the access key Auth needs; Auth then hands the key's secret to the
// verification alone, and counts a failure towards the key's lockout.
func (d *Door) checkSignature(r *http.Request, scheme signature.Scheme) (*dbplane.Principal, string, error) {
	body, err := signature.ReadBody(r)
	if err != nil {
		return nil, "", err
	}
	claim, err := scheme.Parse(r, body)
	if err != nil {
		return nil, "", err
	}
	ak := claim.AccessKeyID
	if !validToken(ak) {
		return nil, "", unauthorized("malformed access key in the Authorization header")
	}
	p, err := d.Auth.AuthenticateSignature(r.Context(), ak, func(secret string) error {
		v := signature.Verifier{
			Schemes: []signature.Scheme{scheme},
			MaxSkew: d.Config.MaxSkew,
			Now:     d.Now,
			Secrets: func(_ context.Context, id string) (string, error) {
				if id != ak {
					return "", nil // parsed apart from the first time: refuse
				}
				return secret, nil
			},
		}
		_, err := v.Verify(r)
		return err
	})
	return p, ak, err
}

// refuse answers a request that failed authentication, with the challenges
// of RFC 9110 §11.6.1 for a 401; a bearer token that was checked and
// refused gets RFC 6750's invalid_token.
func (d *Door) refuse(w http.ResponseWriter, r *http.Request, kind credentialKind, err error) {
	if dbplane.ErrorKind(err) == dbplane.KindUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		h := w.Header()
		if d.Bearer || d.TokenHeader != "" {
			if kind == credBearer {
				h.Add("WWW-Authenticate", `Bearer error="invalid_token"`)
			} else {
				h.Add("WWW-Authenticate", "Bearer")
			}
		}
		if d.Basic {
			h.Add("WWW-Authenticate", `Basic realm="dbplane", charset="UTF-8"`)
		}
	}
	d.fail(w, r, err)
}
