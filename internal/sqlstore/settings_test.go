package sqlstore

import (
	"bytes"
	"testing"

	"github.com/as2gate/as2gate"
)

func TestInitSetting(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		_, err := s.Setting(t.Context(), "a")
		wantCode(t, err, as2gate.ENotFound, "setting a not found")
		for _, c := range []struct {
			name, value, want string
		}{
			{"a", "first", "first"},
			{"a", "second", "first"}, // the first value stays
			{"b", "other", "other"},
		} {
			got, err := s.InitSetting(t.Context(), c.name, []byte(c.value))
			must(t, err)
			if !bytes.Equal(got, []byte(c.want)) {
				t.Errorf("InitSetting(%s, %s) = %q, want %q", c.name, c.value, got, c.want)
			}
			if got, err := s.Setting(t.Context(), c.name); err != nil || !bytes.Equal(got, []byte(c.want)) {
				t.Errorf("Setting(%s) = %q, %v; want %q", c.name, got, err, c.want)
			}
		}
	})
}
