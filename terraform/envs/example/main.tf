# An example environment: fill in the network and the image, then
# terraform init && terraform apply.

provider "aws" {
  region = var.region
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "image" {
  type = string
}

module "sluice" {
  source       = "../../modules/sluice"
  name         = "sluice"
  image        = var.image
  vpc_id       = var.vpc_id
  subnet_ids   = var.subnet_ids
  client_cidrs = ["10.0.0.0/8"]
}

output "bootstrap" {
  value = module.sluice.bootstrap
}
