module chalkcast

go 1.24.0

require (
	github.com/bluenviron/mediacommon/v2 v2.5.1
	github.com/sirupsen/logrus v1.7.0
	github.com/yutopp/go-rtmp v0.0.7
)

require (
	github.com/abema/go-mp4 v1.4.1 // indirect
	github.com/asticode/go-astikit v0.30.0 // indirect
	github.com/asticode/go-astits v1.14.0 // indirect
	github.com/bluenviron/gohlslib/v2 v2.2.4 // indirect
	github.com/google/uuid v1.3.0 // indirect
	github.com/hashicorp/errwrap v1.1.0 // indirect
	github.com/hashicorp/go-multierror v1.1.0 // indirect
	github.com/mitchellh/mapstructure v1.4.1 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e // indirect
	github.com/yutopp/go-amf0 v0.1.0 // indirect
	golang.org/x/sys v0.3.0 // indirect
)
