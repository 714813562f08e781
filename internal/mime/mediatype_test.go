package mime

import (
	"errors"
	"maps"
	"strconv"
	"testing"
)

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		in     string
		typ    string
		params map[string]string
	}{
		{`application/pkcs7-mime; name=smime.p7m; smime-type="enveloped-data"`, "application/pkcs7-mime",
			map[string]string{"name": "smime.p7m", "smime-type": "enveloped-data"}},
		{`Multipart/Signed; Protocol="application/pkcs7-signature"; MICALG=SHA1; Boundary="AbC"`, "multipart/signed",
			map[string]string{"protocol": "application/pkcs7-signature", "micalg": "SHA1", "boundary": "AbC"}},
		{"multipart/report; report-type=disposition-notification; \r\n\tboundary=\"----=_Part_5_2083852873.1483093497175\"",
			"multipart/report", map[string]string{"report-type": "disposition-notification", "boundary": "----=_Part_5_2083852873.1483093497175"}},
		{`multipart/signed;protocol="application/pkcs7-signature";micalg=sha1;boundary="_=338Sterling"`, "multipart/signed",
			map[string]string{"protocol": "application/pkcs7-signature", "micalg": "sha1", "boundary": "_=338Sterling"}},
		// Unquoted tspecials, as some products send them.
		{`multipart/signed; boundary=----=_Part_1_2.3; micalg=sha-256`, "multipart/signed",
			map[string]string{"boundary": "----=_Part_1_2.3", "micalg": "sha-256"}},
		{`text/plain;`, "text/plain", map[string]string{}},
		{`text/plain;; charset=us-ascii;`, "text/plain", map[string]string{"charset": "us-ascii"}},
		{`text/plain; charset`, "text/plain", map[string]string{}},
		{`text/plain; flag; charset=x`, "text/plain", map[string]string{"charset": "x"}},
		{`text/plain ; charset = "a \"quoted\" \\ value" ; x=1`, "text/plain",
			map[string]string{"charset": `a "quoted" \ value`, "x": "1"}},
		{`text/plain; charset="unterminated`, "text/plain", map[string]string{"charset": "unterminated"}},
		{`text/plain; a="1" junk; b=2`, "text/plain", map[string]string{"a": "1", "b": "2"}},
		{`attachment; filename="a"; filename="b"`, "attachment", map[string]string{"filename": "a"}},
		{`attachment; filename=a b.txt`, "attachment", map[string]string{"filename": "a b.txt"}},
		{`ATTACHMENT; FileName="Order.EDI"`, "attachment", map[string]string{"filename": "Order.EDI"}},
		// RFC 2231.
		{`attachment; filename*=UTF-8''M%C3%BCller%20%26%20S%C3%B6hne.edi`, "attachment",
			map[string]string{"filename": "Müller & Söhne.edi"}},
		{`attachment; filename*=iso-8859-1'de'%E9t%E9.txt`, "attachment", map[string]string{"filename": "été.txt"}},
		{`attachment; filename="fallback.txt"; filename*=utf-8''%E2%82%AC.txt`, "attachment",
			map[string]string{"filename": "€.txt"}},
		{`attachment; filename*0*=UTF-8''%2e%2e%2f; filename*1=etc; filename*2*=%2fpasswd`, "attachment",
			map[string]string{"filename": "../etc/passwd"}},
		{`attachment; filename*1="b"; filename*0="a"; filename*2="c"`, "attachment", map[string]string{"filename": "abc"}},
		{`attachment; filename*0="a"; filename*2="c"`, "attachment", map[string]string{"filename": "a"}},
		{`attachment; filename*1="b"`, "attachment", map[string]string{}},
		{`attachment; filename="keep"; filename*=koi8-r''%C1`, "attachment", map[string]string{"filename": "keep"}},
		{`attachment; filename*=no-quotes`, "attachment", map[string]string{}},
		{`attachment; filename*=UTF-8''100%25%zz%`, "attachment", map[string]string{"filename": "100%%zz%"}},
		{`attachment; x*01*=leading-zero; y*=''a`, "attachment", map[string]string{"x*01*": "leading-zero", "y": "a"}},
	}
	for _, tc := range tests {
		typ, params, err := ParseMediaType(tc.in)
		if err != nil || typ != tc.typ || !maps.Equal(params, tc.params) {
			t.Errorf("ParseMediaType(%q) = %q, %q, %v; want %q, %q", tc.in, typ, params, err, tc.typ, tc.params)
		}
	}
}

func TestParseMediaTypeErrors(t *testing.T) {
	for _, in := range []string{"", "; filename=x", "text/", "/plain", "text/plain/x", "te xt/plain", "text/pl@in"} {
		if _, _, err := ParseMediaType(in); !errors.Is(err, ErrMalformedHeader) {
			t.Errorf("ParseMediaType(%q): %v, want ErrMalformedHeader", in, err)
		}
	}
}

func TestParseMediaTypeBoundsSections(t *testing.T) {
	v := "attachment; filename*0*=UTF-8''x"
	for i := 1; i < 1000; i++ {
		v += "; filename*" + strconv.Itoa(i) + "*=x"
	}
	_, params, err := ParseMediaType(v)
	if err != nil || len(params["filename"]) != maxParamSections {
		t.Fatalf("got %d bytes, %v; want %d", len(params["filename"]), err, maxParamSections)
	}
}
