package sqlstore

import (
	"reflect"
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

		bob.Username, bob.Role, bob.PasswordHash = "robert", as2gate.RoleManager, "$argon2id$v=19$new"
		must(t, s.UpdateUser(ctx, bob))
		got, err = s.GetUserByName(ctx, "robert")
		must(t, err)
		if !reflect.DeepEqual(got, bob) {
			t.Fatalf("after update: got %+v\nwant %+v", got, bob)
		}
		bob.Username = "alice"
		wantCode(t, s.UpdateUser(ctx, bob), as2gate.EConflict, `a user named "alice" already exists`)
		wantCode(t, s.UpdateUser(ctx, &as2gate.User{ID: "missing", Username: "x"}), as2gate.ENotFound, "user missing not found")

		must(t, s.DeleteUser(ctx, bob.ID))
		_, err = s.GetUserByName(ctx, "robert")
		wantCode(t, err, as2gate.ENotFound, "robert")
		wantCode(t, s.DeleteUser(ctx, bob.ID), as2gate.ENotFound, "not found")
	})
}
