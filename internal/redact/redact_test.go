package redact

import "testing"

func TestURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"sqlite:/var/lib/as2gate/as2gate.db", "sqlite:/var/lib/as2gate/as2gate.db"},
		{"sqlite:/data/my db?.db", "sqlite:/data/my db?.db"},
		{"postgres://as2gate@db.example.com:5432/as2gate", "postgres://as2gate@db.example.com:5432/as2gate"},
		{"postgres://as2gate:s3cret@db.example.com/as2gate", "postgres://as2gate:xxxxx@db.example.com/as2gate"},
		{"postgres://as2gate:p%40ss@db/as2gate", "postgres://as2gate:xxxxx@db/as2gate"},
		{"postgres://as2gate:@db/as2gate", "postgres://as2gate:xxxxx@db/as2gate"},
		{"postgres://u@db/x?sslmode=require&password=s3cret", "postgres://u@db/x?sslmode=require&password=xxxxx"},
		{"postgres://u:a@db/x?PassWord=s3cret&sslpassword=k3y&application_name=a@b",
			"postgres://u:xxxxx@db/x?PassWord=xxxxx&sslpassword=xxxxx&application_name=a@b"},
		{"postgres://db:5432/x?application_name=me@host&pass=s3cret", "postgres://db:5432/x?application_name=me@host&pass=xxxxx"},
		{"https://s3.example.com/bucket?secret=s3cret&token=t0k&x=1", "https://s3.example.com/bucket?secret=xxxxx&token=xxxxx&x=1"},
		{"https://s3.example.com/b?X-Amz-Security-Token=t0k&client_secret=s", "https://s3.example.com/b?X-Amz-Security-Token=xxxxx&client_secret=xxxxx"},
		{"https://s3.example.com/b?pass%77ord=s3cret", "https://s3.example.com/b?pass%77ord=xxxxx"},
		// Passwords the drivers cannot parse either are never shown in part.
		{"postgres://u:s3cret@db/x\x7f", "xxxxx (not a valid URL)"},
		{"postgres://u:s3/cret@db/x", "xxxxx (not a valid URL)"},
		{"postgres://u:s3?cret@db/x", "xxxxx (not a valid URL)"},
		{"postgres://u:s3#cret@db/x", "xxxxx (not a valid URL)"},
		// A password of digits reads as a port, the rest as the path.
		{"https://user:2024/abc@host/as2", "xxxxx (not a valid URL)"},
		{"https://user:2024?abc@host/as2", "xxxxx (not a valid URL)"},
		{"https://user:2024#abc@host/as2", "xxxxx (not a valid URL)"},
		{"https://user:/abc@host/as2", "xxxxx (not a valid URL)"},
		{"https://[::1]:8443/as2?to=me@host", "https://[::1]:8443/as2?to=me@host"},
		{"https://host/mailbox/me@host", "https://host/mailbox/me@host"},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
