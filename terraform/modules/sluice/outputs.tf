output "bootstrap" {
  description = "Kafka bootstrap address for clients in the VPC."
  value       = "${aws_lb.kafka.dns_name}:9092"
}

output "bucket" {
  value = aws_s3_bucket.data.bucket
}

output "redis_endpoint" {
  value = aws_memorydb_cluster.this.cluster_endpoint[0].address
}
