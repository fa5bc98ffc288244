#!/usr/bin/env bash
# Deploys that can be undone (DESIGN 8), for Cloud Build after `terraform apply`:
#
#   scripts/deploy-revisions.sh tag     PROJECT REGION:SERVICE...   # newest revision gets the `candidate` tag, no traffic
#   scripts/deploy-revisions.sh promote PROJECT REGION:SERVICE...   # the candidate takes 100%, pinned by name
#   scripts/deploy-revisions.sh status  PROJECT REGION:SERVICE...   # what serves, what waits
#
# Terraform creates each service serving its first revision and then ignores traffic
# (run.tf): once `promote` has pinned traffic to a revision by name, every later apply
# creates a revision with no traffic. Between `tag` and `promote`, `doctor --deploy` checks
# the candidates; if it fails, nothing is promoted and the old revisions keep serving.
# Roll back by promoting an older revision by hand:
#   gcloud run services update-traffic SERVICE --region REGION --to-revisions REVISION=100
set -euo pipefail

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
action=$1 project=$2
shift 2
tag=${CANDIDATE_TAG:-candidate}

for target in "$@"; do
  region=${target%%:*} service=${target#*:}
  [ -n "$region" ] && [ -n "$service" ] && [ "$region" != "$target" ] || usage
  where=(--project "$project" --region "$region")
  latest=$(gcloud run services describe "$service" "${where[@]}" --format='value(status.latestCreatedRevisionName)')
  ready=$(gcloud run services describe "$service" "${where[@]}" --format='value(status.latestReadyRevisionName)')
  case $action in
    tag)
      if [ "$latest" != "$ready" ]; then
        echo "$service ($region): the newest revision $latest is not ready (the last ready is $ready): not tagging it" >&2
        exit 1
      fi
      gcloud run services update-traffic "$service" "${where[@]}" --update-tags "$tag=$latest" --quiet
      echo "$service ($region): $latest tagged $tag"
      ;;
    promote)
      # The revision the tag names (gcloud's JSON is Knative's: status.traffic[].tag).
      candidate=$(gcloud run services describe "$service" "${where[@]}" --format=json | python3 -c '
import json, sys
traffic = json.load(sys.stdin).get("status", {}).get("traffic", [])
print(next((t["revisionName"] for t in traffic if t.get("tag") == sys.argv[1]), ""))' "$tag")
      if [ -z "$candidate" ]; then
        echo "$service ($region): no revision is tagged $tag: run tag (and doctor --deploy) first" >&2
        exit 1
      fi
      gcloud run services update-traffic "$service" "${where[@]}" --to-revisions "$candidate=100" --quiet
      gcloud run services update-traffic "$service" "${where[@]}" --remove-tags "$tag" --quiet
      echo "$service ($region): $candidate serves 100%"
      ;;
    status)
      gcloud run services describe "$service" "${where[@]}" \
        --format='table[box](status.traffic.revisionName,status.traffic.percent,status.traffic.tag)'
      ;;
    *) usage ;;
  esac
done
