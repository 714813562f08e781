package api

import (
	"cmp"
	"encoding/base64"
	"net/http"
	"slices"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

// Pages of the lists the service returns whole (stations, partners,
// certificates, users, keys, files: tens to thousands of records).
const (
	defaultLimit = 50
	maxLimit     = 1000
)

// page returns the page of items that cursor and limit ask for, ordered by
// key (unique). The cursor is the key of the last item of the previous
// page, encoded so that clients take it as opaque.
func page[T any](r *http.Request, items []T, key func(T) string) (*client.List[T], error) {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return nil, err
	}
	switch {
	case limit == 0:
		limit = defaultLimit
	case limit < 0 || limit > maxLimit:
		return nil, as2gate.Invalid("limit", "%d: want 1 to %d", limit, maxLimit)
	}
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	if c := r.URL.Query().Get("cursor"); c != "" {
		after, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return nil, as2gate.Invalid("cursor", "not a cursor of this list")
		}
		i, _ := slices.BinarySearchFunc(items, string(after), func(it T, k string) int { return cmp.Compare(key(it), k) })
		if i < len(items) && key(items[i]) == string(after) {
			i++
		}
		items = items[i:]
	}
	out := &client.List[T]{Items: items[:min(limit, len(items))]}
	if len(items) > limit {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
	}
	return out, nil
}
