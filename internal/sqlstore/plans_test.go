package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/as2gate/as2gate"
)

// plan returns the query plan of a ListMessages query, one line per step.
// On PostgreSQL sequential scans are turned off for it: the tables of a
// test are too small for an index to be worth it, and what is checked is
// that the query can use the index at all.
func plan(t *testing.T, s *Store, f as2gate.MessageFilter) string {
	t.Helper()
	query, a := listQuery(f)
	tx, err := s.db.BeginTx(t.Context(), nil)
	must(t, err)
	defer tx.Rollback()
	explain := "EXPLAIN QUERY PLAN "
	if s.d == postgresDialect {
		explain = "EXPLAIN "
		_, err := tx.ExecContext(t.Context(), "SET LOCAL enable_seqscan = off")
		must(t, err)
	}
	rows, err := tx.QueryContext(t.Context(), explain+query, a...)
	must(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	must(t, err)
	var lines []string
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		must(t, rows.Scan(ptrs...))
		lines = append(lines, asString(values[len(cols)-1])) // the step's text is the last column
	}
	must(t, rows.Err())
	return strings.Join(lines, "\n")
}

func asString(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	s, _ := v.(string)
	return s
}

// TestListMessagesPlans checks that the lists people page through most,
// the unread inbox and time windows, are served by an index rather than a
// scan of every message, on both engines.
func TestListMessagesPlans(t *testing.T) {
	unread := false
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	until := since.Add(24 * time.Hour)
	cases := []struct {
		name string
		f    as2gate.MessageFilter
		// what the plan must show, on SQLite and on PostgreSQL
		sqlite, postgres string
	}{
		{"unread inbox", as2gate.MessageFilter{Direction: as2gate.Inbound, Read: &unread},
			"USING INDEX messages_unread", "using messages_unread"},
		{"unread, no direction", as2gate.MessageFilter{Read: &unread},
			"USING INDEX messages_unread", "using messages_unread"},
		{"unread next page", as2gate.MessageFilter{Direction: as2gate.Inbound, Read: &unread, After: as2gate.NewID()},
			"USING INDEX messages_unread (direction=? AND id<?)", "using messages_unread"},
		{"since and until", as2gate.MessageFilter{Since: since, Until: until},
			"(id>? AND id<?)", "Index Cond: ((id >= "},
		{"inbox since", as2gate.MessageFilter{Direction: as2gate.Inbound, Since: since},
			"id>?)", "(id >= "},
		{"outbox until", as2gate.MessageFilter{Direction: as2gate.Outbound, Until: until},
			"id<?)", "(id < "},
	}
	eachStore(t, func(t *testing.T, s *Store) {
		for _, c := range cases {
			want := c.sqlite
			if s.d == postgresDialect {
				want = c.postgres
			}
			if p := plan(t, s, c.f); !strings.Contains(p, want) {
				t.Errorf("%s: plan does not show %q:\n%s", c.name, want, p)
			}
		}
	})
}
