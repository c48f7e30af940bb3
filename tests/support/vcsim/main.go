// Command vcsim serves govmomi's in-memory vCenter (simulator.VPX) over HTTPS for the
// vCenter gateway's integration tests. It prints one JSON line with the SDK URL once the
// listener accepts connections, then serves until SIGTERM/SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 picks a free one)")
	certFile := flag.String("cert", "", "PEM server certificate (default: Go's built-in test certificate)")
	keyFile := flag.String("key", "", "PEM private key of -cert")
	username := flag.String("username", "user", "the only accepted login user")
	password := flag.String("password", "pass", "the only accepted login password")
	machines := flag.Int("vms", 2, "VMs on the standalone host and again in the cluster")
	watchStdin := flag.Bool("watch-stdin", false, "exit when stdin closes (the parent died)")
	esxiVersions := flag.String("esxi-version", "", "HOST=VERSION[,HOST=VERSION]: ESXi versions to report")
	flag.Parse()

	tlsConfig := new(tls.Config)
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			log.Fatal(err)
		}
		tlsConfig.Certificates = []tls.Certificate{cert}
	}

	// One standalone host plus a two-host cluster in one datacenter; every host mounts
	// both datastores, like an AVS cluster that shares its vSAN datastore.
	model := simulator.VPX()
	model.Host = 1
	model.ClusterHost = 2
	model.Datastore = 2
	model.Machine = *machines
	model.Autostart = false // AVS VMs are powered off after failover; tests power some on
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()

	shapeDatastores()
	shapeHostVersions(*esxiVersions)

	model.Service.Listen = &url.URL{
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)),
		User: url.UserPassword(*username, *password),
	}
	model.Service.TLS = tlsConfig
	server := model.Service.NewServer()
	defer server.Close()

	sdk := url.URL{Scheme: server.URL.Scheme, Host: server.URL.Host, Path: server.URL.Path}
	ready, _ := json.Marshal(map[string]string{"url": sdk.String()}) // cannot fail for strings
	fmt.Println(string(ready))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
}

// shapeDatastores fixes what the vSphere API cannot: the simulator creates local datastores
// of type OTHER, which no AVS has, and records only the last host's mount of a datastore
// shared by several hosts. Label them VMFS and vsan and list every host's read/write mount.
func shapeDatastores() {
	for _, entity := range simulator.Map.All("Datastore") {
		ds := entity.(*simulator.Datastore)
		switch ds.Name {
		case "LocalDS_0":
			ds.Summary.Type = "VMFS"
		case "LocalDS_1":
			ds.Summary.Type = "vsan"
		}
	}
	for _, entity := range simulator.Map.All("HostSystem") {
		host := entity.(*simulator.HostSystem)
		for _, ref := range host.Datastore {
			ds := simulator.Map.Get(ref).(*simulator.Datastore)
			if !hasMount(ds, host.Self) {
				ds.Host = append(ds.Host, types.DatastoreHostMount{
					Key: host.Self,
					MountInfo: types.HostMountInfo{
						AccessMode: string(types.HostMountModeReadWrite),
						Mounted:    types.NewBool(true),
						Accessible: types.NewBool(true),
					},
				})
			}
		}
	}
}

// shapeHostVersions makes hosts report another ESXi version, which the vSphere API cannot
// change (it is what the host runs). Each host gets its own copy of the product info: the
// simulator shares one between hosts.
func shapeHostVersions(spec string) {
	for _, pair := range strings.Split(spec, ",") {
		name, version := pair, ""
		if i := strings.Index(pair, "="); i >= 0 {
			name, version = pair[:i], pair[i+1:]
		}
		if version == "" {
			continue
		}
		for _, entity := range simulator.Map.All("HostSystem") {
			host := entity.(*simulator.HostSystem)
			if host.Name != name {
				continue
			}
			product := *host.Summary.Config.Product
			product.Version = version
			product.FullName = "VMware ESXi " + version
			host.Summary.Config.Product = &product
		}
	}
}

func hasMount(ds *simulator.Datastore, host types.ManagedObjectReference) bool {
	for _, mount := range ds.Host {
		if mount.Key == host {
			return true
		}
	}
	return false
}
