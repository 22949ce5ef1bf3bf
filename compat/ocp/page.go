package ocp

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/dbplane/dbplane"
)

// Pagination as OCP does it: page from 1, size up to 2000.
const (
	defaultPageSize = 10
	maxPageSize     = 2000
	// maxCollected bounds what a listing gathers from a service to filter
	// and sort it: far above any fleet dbplane runs, and a bound on the
	// memory one request can take.
	maxCollected = 100000
)

// pageRequest is a list request's page, size and sort order.
type pageRequest struct {
	page, size int
	sorts      []sortKey
}

// sortKey is one "field,asc|desc" of the sort parameter.
type sortKey struct {
	field string
	desc  bool
}

// pageData is the data of a paginated list.
type pageData struct {
	Contents any      `json:"contents"`
	Page     pageInfo `json:"page"`
}

// pageInfo describes a page; number is 1-based.
type pageInfo struct {
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
	Size          int `json:"size"`
}

// queryObject names query parameters in sub errors.
const queryObject = "query"

// parsePage reads page, size and sort; sort fields must be among sortable.
// Every problem is reported, naming its parameter.
func parsePage(r *http.Request, sortable []string) (pageRequest, error) {
	q := r.URL.Query()
	p := pageRequest{page: 1, size: defaultPageSize}
	var subs []subError
	bad := func(field, value, msg string) {
		subs = append(subs, subError{Object: queryObject, Field: field, RejectedValue: value, Message: msg})
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			bad("page", v, "must be an integer from 1")
		} else {
			p.page = n
		}
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			bad("size", v, "must be an integer from 1 to "+strconv.Itoa(maxPageSize))
		} else {
			p.size = n
		}
	}
	for _, v := range q["sort"] {
		field, dir, _ := strings.Cut(v, ",")
		field = strings.TrimSpace(field)
		switch strings.ToLower(strings.TrimSpace(dir)) {
		case "", "asc":
		case "desc":
			p.sorts = append(p.sorts, sortKey{field: field, desc: true})
			if !slices.Contains(sortable, field) {
				bad("sort", v, "unknown sort field "+strconv.Quote(field)+"; sortable: "+strings.Join(sortable, ", "))
			}
			continue
		default:
			bad("sort", v, "direction must be asc or desc")
			continue
		}
		if !slices.Contains(sortable, field) {
			bad("sort", v, "unknown sort field "+strconv.Quote(field)+"; sortable: "+strings.Join(sortable, ", "))
			continue
		}
		p.sorts = append(p.sorts, sortKey{field: field})
	}
	if len(subs) > 0 {
		return p, invalidErr(subs...)
	}
	return p, nil
}

// comparator orders two items by one field.
type comparator[T any] func(a, b T) int

// paginate sorts items by p's keys (stable, so the services' order breaks
// ties) and returns p's page of them.
func paginate[T any](items []T, p pageRequest, by map[string]comparator[T]) pageData {
	if len(p.sorts) > 0 {
		slices.SortStableFunc(items, func(a, b T) int {
			for _, k := range p.sorts {
				c := by[k.field](a, b)
				if k.desc {
					c = -c
				}
				if c != 0 {
					return c
				}
			}
			return 0
		})
	}
	total := len(items)
	from := min((p.page-1)*p.size, total)
	to := min(from+p.size, total)
	page := items[from:to]
	if page == nil {
		page = []T{}
	}
	return pageData{Contents: page, Page: pageInfo{
		TotalElements: total,
		TotalPages:    (total + p.size - 1) / p.size,
		Number:        p.page,
		Size:          p.size,
	}}
}

// collect gathers every item a paged service call returns, page by page,
// up to maxCollected.
func collect[T any](fetch func(offset, limit int) ([]T, int, error)) ([]T, error) {
	var all []T
	for {
		items, total, err := fetch(len(all), dbplane.MaxPageSize)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if len(items) == 0 || len(all) >= total || len(all) >= maxCollected {
			return all, nil
		}
	}
}

// commaList returns the values of a comma-separated query parameter, each
// checked against allowed; nil when the parameter is absent.
func commaList(r *http.Request, name string, allowed []string) ([]string, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if !slices.Contains(allowed, item) {
			return nil, invalidErr(subError{Object: queryObject, Field: name, RejectedValue: v,
				Message: "unknown value " + strconv.Quote(item) + "; valid: " + strings.Join(allowed, ", ")})
		}
		out = append(out, item)
	}
	return out, nil
}

// queryID returns a positive integer query parameter, or 0 when absent.
func queryID(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, invalidErr(subError{Object: queryObject, Field: name, RejectedValue: v, Message: "must be a positive integer"})
	}
	return id, nil
}

// pathID returns a positive integer path value.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, invalidErr(subError{Object: "path", Field: name, RejectedValue: v, Message: "must be a positive integer"})
	}
	return id, nil
}
