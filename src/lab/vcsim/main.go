// sddc-ops-vcsim: the vSphere Web Services (SOAP) peer of the lab, built on govmomi's simulator
// library. Through the library's Map().Handler hook it adds what stock vcsim drops (see
// ../../../../shared/api/vcenter.md, "govmomi's simulator"):
//   - the HA admission-control policy and failover level of ReconfigureComputeResource_Task and
//     CreateClusterEx are stored, so they read back through RetrievePropertiesEx;
//   - AddHost_Task checks HostConnectSpec.sslThumbprint against a stable thumbprint per host name
//     and raises SSLVerifyFault carrying it, as vCenter does;
//   - Destroy_Task on a cluster removes it (and its hosts);
//   - faults from a control endpoint: PUT /lab/faults {"failMethod":{"name":"AddHost_Task","call":2},
//     "taskDelayMs":500,"taskRunMs":20000,"hostConnectFault":["esx-9.lab.local"],
//     "addDisconnected":["esx-8.lab.local"]}; DELETE clears;
//     GET /lab/thumbprint?host=H.
//
// It prints one JSON line {"url": ".../sdk"} when it listens.
package main

import (
	"crypto/sha1"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type failMethod struct {
	Name string `json:"name"`
	// The Nth call of the method from now fails (1 = the next one).
	Call int `json:"call"`
	// The fault it fails with: SystemError (default; a retry may pass) or InvalidState (none will).
	Fault string `json:"fault,omitempty"`
}

type faults struct {
	FailMethod  *failMethod `json:"failMethod,omitempty"`
	TaskDelayMs int         `json:"taskDelayMs,omitempty"`
	// Every task reads "running" this long before it acts (the call itself returns at once), as a
	// slow vCenter task does: what a worker killed mid-task leaves behind.
	TaskRunMs        int      `json:"taskRunMs,omitempty"`
	HostConnectFault []string `json:"hostConnectFault,omitempty"`
	// AddHost_Task for these names succeeds, but the host lands disconnected (what a post-check must catch).
	AddDisconnected []string `json:"addDisconnected,omitempty"`
}

type lab struct {
	mu      sync.Mutex
	faults  faults
	calls   map[string]int
	pending map[string]types.ClusterConfigSpecEx // CreateClusterEx specs, applied once the cluster exists
}

// Thumbprint of a lab host's certificate: stable per name, in vCenter's SHA-1 colon form.
func thumbprint(host string) string {
	sum := sha1.Sum([]byte("sddc-ops-lab-host:" + strings.ToLower(host)))
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

func (l *lab) injected(name string) types.BaseMethodFault {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[name]++
	f := l.faults.FailMethod
	if f == nil || f.Name != name {
		return nil
	}
	f.Call--
	if f.Call > 0 {
		return nil
	}
	l.faults.FailMethod = nil
	if f.Fault == "InvalidState" {
		return &types.InvalidState{}
	}
	return &types.SystemError{RuntimeFault: types.RuntimeFault{}, Reason: "fault injected by the lab at " + name}
}

func applyDas(cfg *types.ClusterConfigInfoEx, spec *types.ClusterDasConfigInfo) {
	if spec == nil {
		return
	}
	if spec.Enabled != nil {
		cfg.DasConfig.Enabled = spec.Enabled
	}
	if spec.AdmissionControlEnabled != nil {
		cfg.DasConfig.AdmissionControlEnabled = spec.AdmissionControlEnabled
	}
	if spec.AdmissionControlPolicy != nil {
		cfg.DasConfig.AdmissionControlPolicy = spec.AdmissionControlPolicy
	}
	if spec.FailoverLevel != 0 {
		cfg.DasConfig.FailoverLevel = spec.FailoverLevel
	}
}

func (l *lab) applyPending(ctx *simulator.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, spec := range l.pending {
		for _, e := range ctx.Map.All("ClusterComputeResource") {
			c, ok := e.(*simulator.ClusterComputeResource)
			if !ok || c.Name != name {
				continue
			}
			ctx.WithLock(c, func() {
				cfg := c.ConfigurationEx.(*types.ClusterConfigInfoEx)
				applyDas(cfg, spec.DasConfig)
				if spec.DrsConfig != nil {
					if spec.DrsConfig.Enabled != nil {
						cfg.DrsConfig.Enabled = spec.DrsConfig.Enabled
					}
					if spec.DrsConfig.DefaultVmBehavior != "" {
						cfg.DrsConfig.DefaultVmBehavior = spec.DrsConfig.DefaultVmBehavior
					}
				}
			})
			delete(l.pending, name)
		}
	}
}

// destroyCluster removes a cluster and its hosts, as vCenter's Destroy_Task on a cluster does.
func destroyCluster(ctx *simulator.Context, c *simulator.ClusterComputeResource) {
	for _, h := range c.Host {
		ctx.Map.Remove(ctx, h)
	}
	if parent, ok := ctx.Map.Get(*c.Parent).(*simulator.Folder); ok {
		ctx.Map.RemoveReference(ctx, parent, &parent.ChildEntity, c.Self)
	}
	ctx.Map.Remove(ctx, c.Self)
}

func (l *lab) handle(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
	l.applyPending(ctx)
	if fault := l.injected(m.Name); fault != nil {
		return nil, fault
	}
	l.mu.Lock()
	delay := time.Duration(l.faults.TaskDelayMs) * time.Millisecond
	refuse := append([]string(nil), l.faults.HostConnectFault...)
	disconnected := append([]string(nil), l.faults.AddDisconnected...)
	l.mu.Unlock()
	if delay > 0 && strings.HasSuffix(m.Name, "_Task") {
		time.Sleep(delay)
	}

	switch req := m.Body.(type) {
	case *types.AddHost_Task:
		host := req.Spec.HostName
		for _, r := range refuse {
			if strings.EqualFold(r, host) {
				return nil, &types.HostConnectFault{}
			}
		}
		if want := thumbprint(host); !strings.EqualFold(req.Spec.SslThumbprint, want) {
			return nil, &types.SSLVerifyFault{SelfSigned: true, Thumbprint: want}
		}
		for _, d := range disconnected {
			if strings.EqualFold(d, host) {
				req.AsConnected = false
			}
		}
	case *types.ReconfigureComputeResource_Task:
		c, ok := ctx.Map.Get(m.This).(*simulator.ClusterComputeResource)
		spec, isEx := req.Spec.(*types.ClusterConfigSpecEx)
		if ok && isEx && spec.DasConfig != nil {
			ctx.WithLock(c, func() { applyDas(c.ConfigurationEx.(*types.ClusterConfigInfoEx), spec.DasConfig) })
		}
	case *types.CreateClusterEx:
		l.mu.Lock()
		l.pending[req.Name] = req.Spec
		l.mu.Unlock()
	case *types.Destroy_Task:
		if h, isHost := ctx.Map.Get(m.This).(*simulator.HostSystem); isHost {
			// vCenter removes a host from the inventory only in maintenance mode or disconnected;
			// the simulator checks neither, and leaves the host listed in its cluster.
			if h.Runtime.ConnectionState == types.HostSystemConnectionStateConnected && !h.Runtime.InMaintenanceMode {
				return nil, &types.InvalidState{}
			}
			if c, inCluster := ctx.Map.Get(*h.Parent).(*simulator.ClusterComputeResource); inCluster && len(h.Vm) == 0 {
				ctx.WithLock(c, func() { ctx.Map.RemoveReference(ctx, c, &c.Host, h.Self) })
				// The cluster's environment browser lists its hosts too; a stale entry crashes the next AddHost.
				if c.EnvironmentBrowser != nil {
					if b, ok := ctx.Map.Get(*c.EnvironmentBrowser).(*simulator.EnvironmentBrowser); ok {
						ctx.WithLock(b, func() {
							ds := b.QueryConfigOptionDescriptorResponse.Returnval
							for i := range ds {
								kept := ds[i].Host[:0]
								for _, r := range ds[i].Host {
									if r != h.Self {
										kept = append(kept, r)
									}
								}
								ds[i].Host = kept
							}
						})
					}
				}
			}
			break
		}
		c, ok := ctx.Map.Get(m.This).(*simulator.ClusterComputeResource)
		if !ok {
			break
		}
		// The simulator's clusters have no Destroy_Task: remove it here, and let the call run on an
		// empty folder made for the purpose, so that the client gets a real task that succeeds.
		parent, ok := ctx.Map.Get(*c.Parent).(*simulator.Folder)
		if !ok {
			break
		}
		stand := &simulator.Folder{}
		stand.Name = "sddc-ops-lab-destroyed-" + c.Self.Value
		stand.ChildType = []string{"Folder"}
		ctx.Map.PutEntity(parent, ctx.Map.NewEntity(stand))
		destroyCluster(ctx, c)
		m.This = stand.Self
	}
	return nil, nil
}

// setTaskRun makes tasks run for ms before they act, through the library's own task delay. The
// entity's lock is not handed to the delayed task (LockHandoff 0), so the inventory stays readable
// meanwhile. The config is replaced whole, never mutated: running tasks may be reading it.
func setTaskRun(ms int) {
	if ms <= 0 {
		simulator.TaskDelay = simulator.DelayConfig{}
		return
	}
	simulator.TaskDelay = simulator.DelayConfig{Delay: ms, MethodDelay: map[string]int{"LockHandoff": 0}}
}

func main() {
	listen := flag.String("l", "127.0.0.1:0", "listen address")
	user := flag.String("username", "administrator@vsphere.local", "login user")
	pass := flag.String("password", "", "login password (default: any)")
	clusters := flag.Int("cluster", 1, "clusters in the datacenter")
	hosts := flag.Int("host", 3, "hosts per cluster")
	flag.Parse()

	model := simulator.VPX()
	model.Datacenter = 1
	model.Cluster = *clusters
	model.ClusterHost = *hosts
	model.Host = 0
	model.Machine = 0
	model.Autostart = false
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	if *pass == "" {
		model.Service.Listen.User = nil
	}

	// A production-like start: HA on, with a percentage reservation for one host failure.
	for _, e := range model.Map().All("ClusterComputeResource") {
		c := e.(*simulator.ClusterComputeResource)
		if len(c.Host) == 0 {
			continue
		}
		pct := int32((100*1 + len(c.Host) - 1) / len(c.Host))
		applyDas(c.ConfigurationEx.(*types.ClusterConfigInfoEx), &types.ClusterDasConfigInfo{
			Enabled:                 types.NewBool(true),
			AdmissionControlEnabled: types.NewBool(true),
			FailoverLevel:           1,
			AdmissionControlPolicy: &types.ClusterFailoverResourcesAdmissionControlPolicy{
				CpuFailoverResourcesPercent: pct, MemoryFailoverResourcesPercent: pct, FailoverLevel: 1, AutoComputePercentages: types.NewBool(false),
			},
		})
	}

	l := &lab{calls: map[string]int{}, pending: map[string]types.ClusterConfigSpecEx{}}
	model.Map().Handler = l.handle

	srv := model.Service.NewServer()
	model.Service.ServeMux.HandleFunc("/lab/faults", func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			var f faults
			if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			l.faults = f
		case http.MethodDelete:
			l.faults = faults{}
		}
		setTaskRun(l.faults.TaskRunMs)
		_ = json.NewEncoder(w).Encode(map[string]any{"faults": l.faults, "calls": l.calls})
	})
	model.Service.ServeMux.HandleFunc("/lab/thumbprint", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"host": r.URL.Query().Get("host"), "thumbprint": thumbprint(r.URL.Query().Get("host"))})
	})

	u := *srv.URL
	u.User = nil
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{"url": u.String()})

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	srv.Close()
	model.Remove()
}
