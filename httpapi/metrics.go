package httpapi

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// requestDuration is the API's latency histogram. Buckets start at 1 ms
// because list latency goals are stated in milliseconds.
var requestDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "dbplane_http_request_duration_seconds",
	Help:    "Latency of native API requests by route pattern and status code.",
	Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"route", "code"})

// statusLabels caches the label text of every status code, so observing a
// request does not format an integer.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func observeRequest(route string, status int, d time.Duration) {
	code := "other"
	if status >= 0 && status < len(statusLabels) {
		code = statusLabels[status]
	}
	requestDuration.WithLabelValues(route, code).Observe(d.Seconds())
}
