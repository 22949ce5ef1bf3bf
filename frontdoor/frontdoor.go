// Package frontdoor builds what every front door of dbplane shares (the
// native API, and the OCP, Huawei and CloudBasic doors), so that a door
// holds only its routes and envelopes: the middleware Chain (request ids,
// access log and metrics, panic recovery, body limits), the strict JSON
// decoder (DecodeJSON), the route table (Routes), and the security of
// Door: it turns a request's credential into a *dbplane.Principal, limits
// the rate of authentication attempts and signed requests, and audits
// every mutating call. Each door passes its own error writer, because
// each keeps its own error format.
//
// It does not authorize. A Door only says who is calling; the services
// decide what the caller may do, on the principal in the context, so that
// every front door enforces the same rules and none can forget one.
//
// A front door builds one Door and wraps each route:
//
//	door.Audit("cluster.create", door.Authenticate(handler))  // protected
//	door.Audit("auth.token", door.LimitSource(handler))       // login
//
// Audit goes outermost, so that calls refused for their credentials are
// recorded too.
package frontdoor

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/dbplane/dbplane"
	"github.com/dbplane/dbplane/signature"
)

// Door is the security of one front door. Set its fields, then use its
// middleware; fields must not change afterwards. Auth and WriteError are
// required.
type Door struct {
	// Name names the front door in audit events: "v1", "ocp", "huawei",
	// "cloudbasic".
	Name string
	// Auth turns credentials into principals.
	Auth dbplane.AuthService
	// Bearer accepts "Authorization: Bearer <token>".
	Bearer bool
	// TokenHeader, when set, names a header that carries a bearer token
	// on its own, such as Huawei's X-Auth-Token. Authorization wins when
	// a request has both.
	TokenHeader string
	// Basic accepts HTTP Basic user names and passwords.
	Basic bool
	// Signatures are the access-key signature schemes accepted, selected
	// by the first token of the Authorization header; none when empty.
	Signatures []signature.Scheme
	// WriteError writes an error in the front door's own error format. The
	// Door calls Annotate before it.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
	// Recorder persists audit events; nil records none.
	Recorder Recorder
	// RequestID returns the id of a request, for audit events; nil means
	// the id the Chain gave it (RequestIDFrom).
	RequestID func(r *http.Request) string
	// Config holds what operators tune; its zero value means defaults.
	Config Config
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time

	once     sync.Once
	sources  *limiterSet // requests to authentication endpoints, by source
	failures *limiterSet // failed authentications, by source
	keys     *limiterSet // signed requests, by access key
	proxies  []netip.Prefix
}

// Config is what operators tune about a front door's security. Zero fields
// take the defaults of DefaultConfig.
type Config struct {
	// AuthLimit bounds the requests each source address may send to
	// authentication endpoints (those wrapped in LimitSource). Here and
	// in FailureLimit, an IPv6 source is its /64, which one client
	// usually holds whole.
	AuthLimit Limit
	// FailureLimit bounds the failed authentications of each source
	// address: once it is spent, the source's credentials are refused
	// unchecked until it refills, so guessing tokens, passwords or
	// signatures gets nowhere fast.
	FailureLimit Limit
	// AccessKeyLimit bounds the signed requests of each access key.
	AccessKeyLimit Limit
	// MaxTracked bounds how many source addresses or access keys each
	// limit remembers, so that a flood of addresses cannot exhaust memory.
	MaxTracked int
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header is believed. Without them the source of a
	// request is its peer address, because any client can write that
	// header.
	TrustedProxies []netip.Prefix
	// MaxSkew bounds how far a signed request's date may be from the
	// server's clock; 0 means signature.DefaultMaxSkew.
	MaxSkew time.Duration
}

// Limit is a token bucket: PerSecond tokens refill each second, up to
// Burst. A zero Limit takes the default; a negative PerSecond turns the
// limit off.
type Limit struct {
	PerSecond float64
	Burst     int
}

// Off is a Limit that limits nothing.
var Off = Limit{PerSecond: -1}

// Defaults of Config.
const (
	// DefaultMaxTracked keeps each limit's memory to a few megabytes.
	DefaultMaxTracked = 10000
)

// DefaultConfig returns the defaults: 10 authentication requests and 10
// failed authentications a second per source address, bursts of 20; 50
// signed requests a second per access key, bursts of 100. People log in a
// few times a day and automation signs steady streams; both stay far below
// these, while guessing at them is hopeless.
func DefaultConfig() Config {
	return Config{
		AuthLimit:      Limit{PerSecond: 10, Burst: 20},
		FailureLimit:   Limit{PerSecond: 10, Burst: 20},
		AccessKeyLimit: Limit{PerSecond: 50, Burst: 100},
		MaxTracked:     DefaultMaxTracked,
	}
}

// withDefaults fills c's zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	def := DefaultConfig()
	if c.AuthLimit == (Limit{}) {
		c.AuthLimit = def.AuthLimit
	}
	if c.FailureLimit == (Limit{}) {
		c.FailureLimit = def.FailureLimit
	}
	if c.AccessKeyLimit == (Limit{}) {
		c.AccessKeyLimit = def.AccessKeyLimit
	}
	if c.MaxTracked <= 0 {
		c.MaxTracked = def.MaxTracked
	}
	return c
}

func (d *Door) init() {
	d.once.Do(func() {
		c := d.Config.withDefaults()
		d.Config = c
		d.sources = newLimiterSet(c.AuthLimit, c.MaxTracked)
		d.failures = newLimiterSet(c.FailureLimit, c.MaxTracked)
		d.keys = newLimiterSet(c.AccessKeyLimit, c.MaxTracked)
		for _, p := range c.TrustedProxies {
			d.proxies = append(d.proxies, p.Masked())
		}
	})
}

func (d *Door) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// fail answers a request the Door refuses.
func (d *Door) fail(w http.ResponseWriter, r *http.Request, err error) {
	Annotate(w, r, err)
	d.WriteError(w, r, err)
}

// RetryAfterHeader tells a client when to try again.
const RetryAfterHeader = "Retry-After"

// Annotate prepares the answer to err, whatever front door writes it: it
// sets Retry-After when err says when to retry (lockouts, rate limits,
// outages), and records err's code as the result of the call's audit
// event. Front doors' error writers call it before writing, so that errors
// from handlers and services get the same treatment as the Door's own.
func Annotate(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		return
	}
	var de *dbplane.Error
	if errors.As(err, &de) && de.RetryAfter > 0 {
		w.Header().Set(RetryAfterHeader, retrySeconds(de.RetryAfter))
	}
	if e := dbplane.AuditFrom(r.Context()); e != nil {
		e.Result = dbplane.ErrorKind(err).String()
	}
}

// retrySeconds renders a wait as whole seconds, rounded up: a client that
// retries at once after "0" would only be refused again.
func retrySeconds(d time.Duration) string {
	s := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(max(int64(s), 1), 10)
}

// tooMany returns the refusal of a rate limit: a KindTooManyRequests error
// that says when to retry.
func tooMany(wait time.Duration, what string) error {
	e := dbplane.Errorf(dbplane.KindTooManyRequests, "too many %s; retry in %ss", what, retrySeconds(wait))
	e.RetryAfter = wait
	return e
}
