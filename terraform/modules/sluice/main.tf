# A Sluice fleet on AWS: stateless agents on ECS Fargate behind a network
# load balancer, autoscaled on CPU; data in S3; metadata in MemoryDB, a
# durable Redis. Agents are configured only through SLUICE_* variables.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

data "aws_region" "current" {}

locals {
  kafka_port = 9092
  http_port  = 9644
  environment = merge({
    SLUICE_REDIS       = "rediss://${aws_memorydb_cluster.this.cluster_endpoint[0].address}:${aws_memorydb_cluster.this.cluster_endpoint[0].port}/0"
    SLUICE_BUCKET      = "s3://${aws_s3_bucket.data.bucket}?region=${data.aws_region.current.name}"
    SLUICE_LISTEN      = ":${local.kafka_port}"
    SLUICE_HTTP_LISTEN = ":${local.http_port}"
    # Empty: each agent advertises its own task address, found from the
    # ECS task metadata endpoint.
    SLUICE_ADVERTISE = ""
  }, var.extra_environment)
}

# --- Object storage -------------------------------------------------------

resource "aws_s3_bucket" "data" {
  bucket_prefix = "${var.name}-data-"
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# --- Metadata: MemoryDB (durable Redis) -----------------------------------

resource "aws_security_group" "redis" {
  name_prefix = "${var.name}-redis-"
  vpc_id      = var.vpc_id
  ingress {
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = [aws_security_group.agents.id]
  }
}

resource "aws_memorydb_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.subnet_ids
}

resource "aws_memorydb_cluster" "this" {
  name                   = "${var.name}-metadata"
  node_type              = var.redis_node_type
  num_shards             = 1
  num_replicas_per_shard = 1
  acl_name               = "open-access"
  tls_enabled            = true
  subnet_group_name      = aws_memorydb_subnet_group.this.name
  security_group_ids     = [aws_security_group.redis.id]
}

# --- Agents ---------------------------------------------------------------

resource "aws_security_group" "agents" {
  name_prefix = "${var.name}-agents-"
  vpc_id      = var.vpc_id
  ingress {
    description = "Kafka clients, directly and through the load balancer"
    from_port   = local.kafka_port
    to_port     = local.kafka_port
    protocol    = "tcp"
    cidr_blocks = var.client_cidrs
  }
  ingress {
    description = "Load balancer health checks and Prometheus"
    from_port   = local.http_port
    to_port     = local.http_port
    protocol    = "tcp"
    cidr_blocks = var.client_cidrs
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_cloudwatch_log_group" "agents" {
  name              = "/ecs/${var.name}"
  retention_in_days = 14
}

resource "aws_ecs_cluster" "this" {
  name = var.name
}

resource "aws_ecs_task_definition" "agent" {
  family                   = "${var.name}-agent"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name         = "agent"
    image        = var.image
    command      = ["agent"]
    essential    = true
    stopTimeout  = 60 # SIGTERM drains within --drain-timeout (30s)
    environment  = [for k, v in local.environment : { name = k, value = v }]
    portMappings = [{ containerPort = local.kafka_port }, { containerPort = local.http_port }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.agents.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "agent"
      }
    }
  }])
}

resource "aws_ecs_service" "agents" {
  name            = "${var.name}-agents"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.agent.arn
  desired_count   = var.min_agents
  launch_type     = "FARGATE"
  network_configuration {
    subnets         = var.subnet_ids
    security_groups = [aws_security_group.agents.id]
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.kafka.arn
    container_name   = "agent"
    container_port   = local.kafka_port
  }
  lifecycle {
    ignore_changes = [desired_count] # the autoscaler owns it
  }
}

resource "aws_appautoscaling_target" "agents" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.agents.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_agents
  max_capacity       = var.max_agents
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  service_namespace  = aws_appautoscaling_target.agents.service_namespace
  resource_id        = aws_appautoscaling_target.agents.resource_id
  scalable_dimension = aws_appautoscaling_target.agents.scalable_dimension
  policy_type        = "TargetTrackingScaling"
  target_tracking_scaling_policy_configuration {
    target_value = var.target_cpu_percent
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

# --- Load balancer: the bootstrap address ---------------------------------
# Clients bootstrap through it; Metadata then names each agent's own address.

resource "aws_lb" "kafka" {
  name_prefix        = substr(var.name, 0, 6)
  load_balancer_type = "network"
  internal           = true
  subnets            = var.subnet_ids
}

resource "aws_lb_target_group" "kafka" {
  name_prefix = substr(var.name, 0, 6)
  port        = local.kafka_port
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    protocol = "HTTP"
    port     = tostring(local.http_port)
    path     = "/readyz"
  }
  deregistration_delay = 35 # longer than the drain
}

resource "aws_lb_listener" "kafka" {
  load_balancer_arn = aws_lb.kafka.arn
  port              = local.kafka_port
  protocol          = "TCP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.kafka.arn
  }
}
