terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    # Only 6.50 was checked against this configuration (tf-schema-check): stay on 6.x.
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    # google_project_service_identity only: it creates the Pub/Sub service agent before
    # anything is granted to it (main.tf).
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
    # time_sleep: waits for IAM grants to propagate before the services that need them start.
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }

  # Partial configuration: `terraform init -backend-config="bucket=YOUR_STATE_BUCKET"`.
  # See docs/deploying.md for the bootstrap of the state bucket.
  backend "gcs" {
    prefix = "stripe-fulfilment"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
