package frontdoor

import (
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often a limiter set forgets its idle limiters.
const sweepEvery = time.Minute

// limiterSet holds a token bucket per key (a source address, an access
// key). Memory is bounded twice: limiters that have refilled to their burst
// are forgotten on sweeps, which loses nothing since a new limiter starts
// full too; and the set never holds more than max limiters.
type limiterSet struct {
	limit rate.Limit
	burst int
	max   int

	mu      sync.Mutex
	m       map[string]*rate.Limiter
	sweptAt time.Time
}

// newLimiterSet returns the set of l, or nil when l is off: a nil set
// allows everything.
func newLimiterSet(l Limit, maxKeys int) *limiterSet {
	if l.PerSecond < 0 {
		return nil
	}
	burst := max(l.Burst, 1)
	return &limiterSet{limit: rate.Limit(l.PerSecond), burst: burst, max: maxKeys, m: map[string]*rate.Limiter{}}
}

// allow spends a token of key and returns 0, or returns how long until one
// is available, spending nothing.
func (s *limiterSet) allow(key string, now time.Time) time.Duration {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := s.get(key, now)
	if lim.AllowN(now, 1) {
		return 0
	}
	return s.waitFor(lim, now)
}

// wait returns how long until key has a token, spending nothing.
func (s *limiterSet) wait(key string, now time.Time) time.Duration {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.m[key]
	if !ok || lim.TokensAt(now) >= 1 {
		return 0
	}
	return s.waitFor(lim, now)
}

// spend takes a token of key, if it has one.
func (s *limiterSet) spend(key string, now time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(key, now).AllowN(now, 1)
}

// waitFor is how long until lim has a whole token.
func (s *limiterSet) waitFor(lim *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	if s.limit <= 0 {
		return time.Duration(math.MaxInt64) // never refills
	}
	return time.Duration(missing / float64(s.limit) * float64(time.Second))
}

// get returns key's limiter, making it if need be. s.mu is held.
func (s *limiterSet) get(key string, now time.Time) *rate.Limiter {
	if lim, ok := s.m[key]; ok {
		return lim
	}
	if now.Sub(s.sweptAt) >= sweepEvery || len(s.m) >= s.max {
		s.sweep(now)
	}
	for k := range s.m {
		if len(s.m) < s.max {
			break
		}
		// Still full of busy limiters: forget any one. The set's bound
		// matters more than one client's partly spent bucket.
		delete(s.m, k)
	}
	lim := rate.NewLimiter(s.limit, s.burst)
	s.m[key] = lim
	return lim
}

// sweep forgets the limiters that are full again. s.mu is held.
func (s *limiterSet) sweep(now time.Time) {
	s.sweptAt = now
	for k, lim := range s.m {
		if lim.TokensAt(now) >= float64(s.burst) {
			delete(s.m, k)
		}
	}
}

// size returns how many limiters the set holds, for tests.
func (s *limiterSet) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// LimitSource limits the requests each source address (each /64 of IPv6)
// may send to next, by Config.AuthLimit: wrap authentication endpoints (token issuing, login)
// in it. Refused requests get KindTooManyRequests with a Retry-After.
func (d *Door) LimitSource(next http.Handler) http.Handler {
	d.init()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait := d.sources.allow(d.sourceKey(r), d.now()); wait > 0 {
			d.fail(w, r, tooMany(wait, "authentication requests from this address"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
