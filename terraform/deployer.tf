# Who deploys, and what `doctor` may read (DESIGN 8).
#
# Cloud Build runs as its own service account, not the project's default one (which holds
# Editor in older projects): the first apply, made by a person, creates it and grants it what
# applying this configuration takes; the trigger is then set to run as it
# (docs/deploying.md, step 6). var.deployer_member overrides it for another pipeline.

resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-deployer"
  display_name = "Cloud Build: tests, builds and applies the Stripe fulfilment stack"
}

locals {
  # Known at plan time (the address is deterministic), so for_each keys never wait on an apply.
  deployer_email  = "${var.name_prefix}-deployer@${var.project_id}.iam.gserviceaccount.com"
  deployer_member = var.deployer_member != "" ? var.deployer_member : "serviceAccount:${local.deployer_email}"

  # What `terraform apply` of this directory creates and changes, role by role. Project-level
  # because Terraform creates the resources these would be scoped to.
  deployer_roles = concat(
    [
      "roles/run.admin",                       # services, the job, their IAM and traffic
      "roles/iam.serviceAccountAdmin",         # the service accounts and their IAM
      "roles/iam.roleAdmin",                   # the doctor custom role
      "roles/resourcemanager.projectIamAdmin", # project-level grants (datastore.user, cloudtrace.agent, the doctor role)
      "roles/pubsub.admin",                    # topics, subscriptions, their IAM
      "roles/secretmanager.admin",             # secret containers and their IAM (never the values)
      "roles/datastore.owner",                 # the database, indexes, TTL, backup schedule
      "roles/cloudscheduler.admin",            # the reconcile schedule
      "roles/monitoring.editor",               # alert policies, the dashboard
      "roles/logging.configWriter",            # log-based metrics
      "roles/artifactregistry.admin",          # the repository and its cleanup policy; pushing images
      "roles/serviceusage.serviceUsageAdmin",  # enabling APIs, creating the Pub/Sub service identity
      "roles/logging.logWriter",               # a build with its own service account writes its logs
      "roles/cloudbuild.builds.builder",       # runs the build's steps
    ],
    local.edge ? [
      "roles/compute.loadBalancerAdmin", # the load balancer, its certificate and address
      "roles/compute.securityAdmin",     # Cloud Armor
    ] : [],
  )
}

resource "google_project_iam_member" "deployer" {
  for_each = var.deployer_member == "" ? toset(local.deployer_roles) : toset([])
  project  = var.project_id
  role     = each.value
  member   = google_service_account.deployer.member
}

# Exactly what `doctor` reads that the operators' other grants (iam.tf) do not give: the
# topics and subscriptions and their IAM, the TTL field configuration, the Cloud Run
# services, revisions and the reconcile job's executions, the schedule. Read-only.
resource "google_project_iam_custom_role" "doctor" {
  project     = var.project_id
  role_id     = replace("${var.name_prefix}_doctor", "-", "_")
  title       = "Stripe fulfilment doctor (read-only)"
  description = "What `npm run cli -- doctor` reads of this deployment (terraform/deployer.tf)."
  permissions = [
    "pubsub.topics.get",
    "pubsub.topics.getIamPolicy",
    "pubsub.subscriptions.get",
    "pubsub.subscriptions.getIamPolicy",
    "datastore.databases.get",
    "datastore.indexes.get",
    "datastore.indexes.list",
    "run.services.get",
    "run.services.getIamPolicy",
    "run.revisions.get",
    "run.revisions.list",
    "run.jobs.get",
    "run.executions.list",
    "cloudscheduler.jobs.get",
    "resourcemanager.projects.get",
  ]
}

resource "google_project_iam_member" "doctor" {
  for_each = toset(local.cli_members)
  project  = var.project_id
  role     = google_project_iam_custom_role.doctor.id
  member   = each.value
}
