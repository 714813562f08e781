module github.com/as2gate/as2gate

go 1.26.0

require software.sslmate.com/src/go-pkcs12 v0.7.4

require golang.org/x/crypto v0.59.0 // indirect
