package service

import (
	"context"
	"unicode"

	"github.com/as2gate/as2gate"
	"github.com/as2gate/as2gate/client"
)

func toAPIKey(k *as2gate.APIKey) client.APIKey {
	return client.APIKey{ID: k.ID, Name: k.Name, Role: string(k.Role), Prefix: k.Prefix, CreatedAt: k.CreatedAt,
		LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, CreatedBy: k.CreatedBy}
}

// ListAPIKeys returns every API key, revoked ones included, oldest first.
func (s *Service) ListAPIKeys(ctx context.Context) ([]client.APIKey, error) {
	list, err := s.gw.Store().ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]client.APIKey, len(list))
	for i, k := range list {
		out[i] = toAPIKey(k)
	}
	return out, nil
}

// CreateAPIKey makes a key for a machine. Its secret is in the answer and
// nowhere else: only its hash is stored.
func (s *Service) CreateAPIKey(ctx context.Context, in client.APIKeyInput) (_ *client.APIKey, err error) {
	target := in.Name
	defer s.record(ctx, "apikey.create", &target, &err)
	switch {
	case in.Name == "" || len(in.Name) > MaxNameLen:
		return nil, as2gate.Invalid("name", "1 to %d characters", MaxNameLen)
	case hasControl(in.Name):
		return nil, as2gate.Invalid("name", "no control characters")
	case !as2gate.Role(in.Role).Valid():
		return nil, as2gate.Invalid("role", "%q: want admin, manager, operator or viewer", in.Role)
	}
	secret := newSecret(keyPrefix)
	k := &as2gate.APIKey{Name: in.Name, Role: as2gate.Role(in.Role), Hash: hashSecret(secret), Prefix: secret[:keyShownLen],
		CreatedAt: s.now(), CreatedBy: actorOf(ctx).name}
	if err := s.gw.Store().CreateAPIKey(ctx, k); err != nil {
		return nil, err
	}
	target = in.Name + " (" + k.ID + ")"
	out := toAPIKey(k)
	out.Secret = secret
	return &out, nil
}

// RevokeAPIKey revokes a key: it is refused from then on, and stays listed.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (err error) {
	target := id
	defer s.record(ctx, "apikey.revoke", &target, &err)
	k, err := s.gw.Store().GetAPIKey(ctx, id)
	if err != nil {
		return err
	}
	target = k.Name + " (" + k.ID + ")"
	return s.gw.Store().RevokeAPIKey(ctx, id, s.now())
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}
