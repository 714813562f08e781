module github.com/as2gate/as2gate

go 1.26
