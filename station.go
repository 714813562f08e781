package as2gate

import (
	"strings"
	"time"
)

// Station is one of our own AS2 identities.
type Station struct {
	ID          string
	AS2ID       string
	Name        string
	Description string
	// Email receives notifications (comma-separated addresses).
	Email string
	// CertID is the key pair the station signs with and is decrypted
	// with; NextCertID a second one during a rollover, also accepted for
	// decryption until it is promoted.
	CertID     string
	NextCertID string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate checks the fields a user sets.
func (s *Station) Validate() error {
	if err := checkAS2ID(s.AS2ID); err != nil {
		return err
	}
	if strings.TrimSpace(s.Name) == "" {
		s.Name = s.AS2ID
	}
	if len(s.Name) > 200 || len(s.Description) > 2000 || len(s.Email) > 500 {
		return Invalid("name", "too long")
	}
	if s.CertID == "" {
		return Invalid("cert_id", "a station needs a key pair")
	}
	return nil
}
