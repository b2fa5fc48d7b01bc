package client_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/scanfree/scanfree/client"
)

// A desktop app signs in through the daemon and hands the code to its own
// server, which redeems it at /sns/jscode2session with the app's secret.
func Example() {
	ctx := context.Background()
	c := client.New()
	code, err := c.Login(ctx, "wx1234567890abcdef")
	var refused *client.Error
	switch {
	case errors.Is(err, client.ErrNotRunning):
		fmt.Println("scanfreed is not running: show the app's own sign-in")
		return
	case errors.As(err, &refused) && refused.Code == client.CodeDenied:
		fmt.Println("the person declined")
		return
	case err != nil:
		fmt.Println("no scan-free sign-in:", err)
		return
	}
	_ = code // POST it to the app's server: GET /sns/jscode2session?appid=…&secret=…&js_code=CODE&grant_type=authorization_code

	// After the server redeemed the code: the profile, encrypted for the server.
	data, err := c.UserData(ctx, "wx1234567890abcdef", false)
	if err == nil {
		_ = data // POST rawData, signature, encryptedData and iv to the server
	}
}
