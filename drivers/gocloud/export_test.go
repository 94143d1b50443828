package gocloud

import (
	"gocloud.dev/blob/driver"

	"github.com/objstore-go/objstore"
)

// NewDriver is the driver.Bucket NewBucket wraps, for drivertest.
func NewDriver(s objstore.Store) driver.Bucket { return &bucket{s: s} }
