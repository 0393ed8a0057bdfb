// The etcd v3 gRPC API of a node (KV, Watch, Lease, Cluster, Maintenance, Auth), written
// against EtcdBackend only. Requests only the leader serves are forwarded to it (forward.ts).

export { startEtcdServer, type EtcdServer, type EtcdServerOptions } from './server'
export { etcdPackageDefinition, etcdProtoDir, LOADER_OPTIONS, type ServiceName } from './proto'
