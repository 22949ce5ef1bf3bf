package ocp

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/dbplane/dbplane"
)

// registerComputeRoutes registers OCP's compute API: regions, IDCs, host
// types and hosts. Without a compute service there is none.
func (s *Server) registerComputeRoutes() {
	if s.Compute == nil {
		return
	}
	c := s.Compute
	s.route("POST /api/v2/compute/regions", "region.create", codesCommon, s.handleRegionCreate)
	s.route("GET /api/v2/compute/regions", "region.list", codesCommon, listHandler(c.FindRegions, regionSorts, toRegion))
	s.route("GET /api/v2/compute/regions/{regionId}", "region.get", codesCommon,
		getHandler("regionId", c.FindRegionByID, toRegion))
	s.route("DELETE /api/v2/compute/regions/{regionId}", "region.delete", codesCommon,
		deleteHandler("regionId", c.DeleteRegion))

	s.route("POST /api/v2/compute/idcs", "idc.create", codesCommon, s.handleIDCCreate)
	s.route("GET /api/v2/compute/idcs", "idc.list", codesCommon, listHandler(c.FindIDCs, idcSorts, toIDC))
	s.route("GET /api/v2/compute/idcs/{idcId}", "idc.get", codesCommon, getHandler("idcId", c.FindIDCByID, toIDC))
	s.route("DELETE /api/v2/compute/idcs/{idcId}", "idc.delete", codesCommon, deleteHandler("idcId", c.DeleteIDC))

	s.route("POST /api/v2/compute/hostTypes", "host-type.create", codesCommon, s.handleHostTypeCreate)
	s.route("GET /api/v2/compute/hostTypes", "host-type.list", codesCommon,
		listHandler(c.FindHostTypes, hostTypeSorts, toHostType))
	s.route("GET /api/v2/compute/hostTypes/{hostTypeId}", "host-type.get", codesCommon,
		getHandler("hostTypeId", c.FindHostTypeByID, toHostType))
	s.route("DELETE /api/v2/compute/hostTypes/{hostTypeId}", "host-type.delete", codesCommon,
		deleteHandler("hostTypeId", c.DeleteHostType))

	s.registerHostRoutes()
}

// region, idc and hostType are OCP's Region, Idc and HostType.
type region struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreateTime  string `json:"createTime"`
	UpdateTime  string `json:"updateTime"`
}

type idc struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	RegionID    int64  `json:"regionId"`
	RegionName  string `json:"regionName"`
	CreateTime  string `json:"createTime"`
	UpdateTime  string `json:"updateTime"`
}

type hostType = region

func toRegion(r *dbplane.Region) region {
	return region{ID: r.ID, Name: r.Name, Description: r.Description, CreateTime: formatTime(r.CreatedAt),
		UpdateTime: formatTime(r.UpdatedAt)}
}

func toIDC(d *dbplane.IDC) idc {
	return idc{ID: d.ID, Name: d.Name, Description: d.Description, RegionID: d.RegionID, RegionName: d.RegionName,
		CreateTime: formatTime(d.CreatedAt), UpdateTime: formatTime(d.UpdatedAt)}
}

func toHostType(t *dbplane.HostType) hostType {
	return hostType{ID: t.ID, Name: t.Name, Description: t.Description, CreateTime: formatTime(t.CreatedAt),
		UpdateTime: formatTime(t.UpdatedAt)}
}

// Objects of the create bodies, as OCP names them in sub errors.
const (
	regionObject   = "createRegionParam"
	idcObject      = "createIdcParam"
	hostTypeObject = "createHostTypeParam"
)

// namedParam is the body that creates a region or a host type.
type namedParam struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// idcParam is the body that creates an IDC.
type idcParam struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	RegionID    int64  `json:"regionId"`
}

// handleRegionCreate handles POST /api/v2/compute/regions.
func (s *Server) handleRegionCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p namedParam
	if err := decodeJSON(r, regionObject, &p); err != nil {
		return nil, err
	}
	reg := &dbplane.Region{Name: p.Name, Description: p.Description}
	if err := s.Compute.CreateRegion(r.Context(), reg); err != nil {
		return nil, ocpFields(err, regionObject, camelField)
	}
	return toRegion(reg), nil
}

// handleIDCCreate handles POST /api/v2/compute/idcs.
func (s *Server) handleIDCCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p idcParam
	if err := decodeJSON(r, idcObject, &p); err != nil {
		return nil, err
	}
	d := &dbplane.IDC{Name: p.Name, Description: p.Description, RegionID: p.RegionID}
	if err := s.Compute.CreateIDC(r.Context(), d); err != nil {
		return nil, ocpFields(err, idcObject, camelField)
	}
	return toIDC(d), nil
}

// handleHostTypeCreate handles POST /api/v2/compute/hostTypes.
func (s *Server) handleHostTypeCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var p namedParam
	if err := decodeJSON(r, hostTypeObject, &p); err != nil {
		return nil, err
	}
	t := &dbplane.HostType{Name: p.Name, Description: p.Description}
	if err := s.Compute.CreateHostType(r.Context(), t); err != nil {
		return nil, ocpFields(err, hostTypeObject, camelField)
	}
	return toHostType(t), nil
}

// The sortable fields of regions, IDCs and host types.
var (
	regionSorts   = namedSorts(func(r *dbplane.Region) named { return named{r.ID, r.Name, r.CreatedAt, r.UpdatedAt} })
	idcSorts      = namedSorts(func(d *dbplane.IDC) named { return named{d.ID, d.Name, d.CreatedAt, d.UpdatedAt} })
	hostTypeSorts = namedSorts(func(t *dbplane.HostType) named {
		return named{t.ID, t.Name, t.CreatedAt, t.UpdatedAt}
	})
)

// named is what the sorts of regions, IDCs and host types compare.
type named struct {
	id                   int64
	name                 string
	createdAt, updatedAt time.Time
}

// namedSorts are the sortable fields of a list of named records.
func namedSorts[T any](of func(T) named) map[string]comparator[T] {
	return map[string]comparator[T]{
		"id":         func(a, b T) int { return cmp.Compare(of(a).id, of(b).id) },
		"name":       func(a, b T) int { return strings.Compare(of(a).name, of(b).name) },
		"createTime": func(a, b T) int { return of(a).createdAt.Compare(of(b).createdAt) },
		"updateTime": func(a, b T) int { return of(a).updatedAt.Compare(of(b).updatedAt) },
	}
}

// listHandler lists what find returns, paginated and sorted, in OCP's
// shape.
func listHandler[T, O any](find func(context.Context, dbplane.ComputeFilter) ([]*T, int, error),
	sorts map[string]comparator[*T], render func(*T) O) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		p, err := parsePage(r, slices.Sorted(maps.Keys(sorts)))
		if err != nil {
			return nil, err
		}
		items, err := collect(func(offset, limit int) ([]*T, int, error) {
			return find(r.Context(), dbplane.ComputeFilter{Offset: offset, Limit: limit})
		})
		if err != nil {
			return nil, err
		}
		return renderPage(paginate(items, p, sorts), render), nil
	}
}

// renderPage renders the items of a page.
func renderPage[T, O any](page pageData, render func(T) O) pageData {
	items := page.Contents.([]T)
	out := make([]O, len(items))
	for i, v := range items {
		out[i] = render(v)
	}
	page.Contents = out
	return page
}

// getHandler answers the record whose id is path value name.
func getHandler[T, O any](name string, find func(context.Context, int64) (*T, error), render func(*T) O) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, name)
		if err != nil {
			return nil, err
		}
		v, err := find(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return render(v), nil
	}
}

// deleteHandler deletes the record whose id is path value name.
func deleteHandler(name string, del func(context.Context, int64) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		id, err := pathID(r, name)
		if err != nil {
			return nil, err
		}
		if err := del(r.Context(), id); err != nil {
			return nil, err
		}
		return noData{}, nil
	}
}

// ocpFields renames the fields of a KindInvalid error from the service's
// names to the OCP body's, naming object; other errors pass unchanged.
func ocpFields(err error, object string, rename func(string) string) error {
	var de *dbplane.Error
	if dbplane.ErrorKind(err) != dbplane.KindInvalid || !errors.As(err, &de) || len(de.Fields) == 0 {
		return err
	}
	subs := make([]subError, len(de.Fields))
	for i, f := range de.Fields {
		subs[i] = subError{Object: object, Field: rename(f.Field), Message: f.Message}
	}
	return invalidErr(subs...)
}

// camelField turns a service's snake_case field name into OCP's
// camelCase: region_id becomes regionId.
func camelField(f string) string {
	parts := strings.Split(f, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
