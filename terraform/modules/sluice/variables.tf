variable "name" {
  description = "Prefix for every resource."
  type        = string
  default     = "sluice"
}

variable "image" {
  description = "Agent container image, built from the repository's Dockerfile."
  type        = string
}

variable "vpc_id" {
  description = "VPC the agents, Redis and the load balancer live in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets, one per zone the fleet spans."
  type        = list(string)
}

variable "client_cidrs" {
  description = "CIDR blocks allowed to reach the Kafka port."
  type        = list(string)
}

variable "cpu" {
  description = "Fargate CPU units per agent."
  type        = number
  default     = 2048
}

variable "memory" {
  description = "Fargate memory (MiB) per agent; keep it above buffer-bytes + fetch-cache-bytes + 256 MiB."
  type        = number
  default     = 4096
}

variable "min_agents" {
  type    = number
  default = 3
}

variable "max_agents" {
  type    = number
  default = 12
}

variable "target_cpu_percent" {
  description = "Average CPU the autoscaler keeps the fleet at."
  type        = number
  default     = 60
}

variable "redis_node_type" {
  description = "MemoryDB node type. MemoryDB keeps a durable multi-zone transaction log, so agents start without --accept-redis-data-loss."
  type        = string
  default     = "db.r7g.large"
}

variable "extra_environment" {
  description = "More SLUICE_* settings, e.g. { SLUICE_FLUSH_INTERVAL = \"100ms\" }."
  type        = map(string)
  default     = {}
}
