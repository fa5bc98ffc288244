terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }

  # Partial configuration: `terraform init -backend-config="bucket=YOUR_STATE_BUCKET"`.
  # See README.md for the bootstrap of the state bucket.
  backend "gcs" {
    prefix = "stripe-fulfilment"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}
