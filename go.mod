module github.com/otklik/otklik

go 1.26.8
