package sqlstore

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/as2gate/as2gate"
)

func TestUsers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		bob := &as2gate.User{Username: "bob", PasswordHash: "$argon2id$v=19$bob", Role: as2gate.RoleOperator}
		alice := &as2gate.User{Username: "alice", PasswordHash: "$argon2id$v=19$alice", Role: as2gate.RoleAdmin}
		must(t, s.CreateUser(ctx, bob))
		must(t, s.CreateUser(ctx, alice))
		if !as2gate.IsID(bob.ID) || bob.CreatedAt.IsZero() || !bob.UpdatedAt.Equal(bob.CreatedAt) {
			t.Fatalf("CreateUser set %+v", bob)
		}

		got, err := s.GetUserByName(ctx, "bob")
		must(t, err)
		if !reflect.DeepEqual(got, bob) {
			t.Fatalf("got  %+v\nwant %+v", got, bob)
		}
		list, err := s.ListUsers(ctx)
		must(t, err)
		if !reflect.DeepEqual(list, []*as2gate.User{alice, bob}) {
			t.Fatalf("list by name: %+v", list)
		}

		_, err = s.GetUserByName(ctx, "carol")
		wantCode(t, err, as2gate.ENotFound, `user "carol" not found`)
		wantCode(t, s.CreateUser(ctx, &as2gate.User{Username: "bob", Role: as2gate.RoleViewer}), as2gate.EConflict,
			`a user named "bob" already exists`)

		// An update writes the fields it sets, and only them.
		robert, err := s.UpdateUser(ctx, bob.ID, as2gate.UserChange{Username: ptr("robert"), Role: ptr(as2gate.RoleManager)})
		must(t, err)
		bob.Username, bob.Role, bob.UpdatedAt = "robert", as2gate.RoleManager, robert.UpdatedAt
		if !reflect.DeepEqual(robert, bob) || robert.UpdatedAt.Before(robert.CreatedAt) {
			t.Fatalf("after update: got %+v\nwant %+v", robert, bob)
		}
		robert, err = s.UpdateUser(ctx, bob.ID, as2gate.UserChange{PasswordHash: ptr("$argon2id$v=19$new")})
		must(t, err)
		if robert.Username != "robert" || robert.Role != as2gate.RoleManager || robert.PasswordHash != "$argon2id$v=19$new" {
			t.Fatalf("after a password change: %+v", robert)
		}
		got, err = s.GetUserByName(ctx, "robert")
		must(t, err)
		if !reflect.DeepEqual(got, robert) {
			t.Fatalf("stored %+v\nreturned %+v", got, robert)
		}
		_, err = s.UpdateUser(ctx, bob.ID, as2gate.UserChange{Username: ptr("alice")})
		wantCode(t, err, as2gate.EConflict, `a user named "alice" already exists`)
		_, err = s.UpdateUser(ctx, "missing", as2gate.UserChange{Username: ptr("x")})
		wantCode(t, err, as2gate.ENotFound, "user missing not found")

		must(t, s.DeleteUser(ctx, bob.ID))
		_, err = s.GetUserByName(ctx, "robert")
		wantCode(t, err, as2gate.ENotFound, "robert")
		wantCode(t, s.DeleteUser(ctx, bob.ID), as2gate.ENotFound, "not found")
	})
}

func ptr[T any](v T) *T { return &v }

// TestLastAdmin: the last administrator keeps the role and the account,
// also when two transactions each take it from one of two administrators.
func TestLastAdmin(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(s *Store, id string) error
	}{
		{"demote", func(s *Store, id string) error {
			_, err := s.UpdateUser(t.Context(), id, as2gate.UserChange{Role: ptr(as2gate.RoleViewer)})
			return err
		}},
		{"delete", func(s *Store, id string) error { return s.DeleteUser(t.Context(), id) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, s *Store) {
				ctx := t.Context()
				viewer := &as2gate.User{Username: "vic", PasswordHash: "x", Role: as2gate.RoleViewer}
				must(t, s.CreateUser(ctx, viewer))
				must(t, tc.remove(s, viewer.ID)) // not an administrator: no check
				var admins []*as2gate.User
				for round := range 10 {
					for len(admins) < 2 {
						u := &as2gate.User{Username: fmt.Sprintf("admin%d-%d", round, len(admins)), PasswordHash: "x", Role: as2gate.RoleAdmin}
						must(t, s.CreateUser(ctx, u))
						admins = append(admins, u)
					}
					errs := make([]error, len(admins))
					var wg sync.WaitGroup
					for i, u := range admins {
						wg.Go(func() { errs[i] = tc.remove(s, u.ID) })
					}
					wg.Wait()
					if (errs[0] == nil) == (errs[1] == nil) {
						t.Fatalf("round %d: errors %v, want exactly one", round, errs)
					}
					last := 0
					if errs[1] != nil {
						last = 1
					}
					wantCode(t, errs[last], as2gate.EConflict, "last administrator")
					admins = admins[last : last+1]
				}
			})
		})
	}
}
