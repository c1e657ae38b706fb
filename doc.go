// Package otklik holds the one data type that flows through every stage of Otklik — a
// residents' publication found in a social network, with the classification the classifier
// gives it — and the stable document id that makes every write idempotent.
//
// It is a leaf package: it imports nothing of the project, and every stage imports it.
//
// The stages live in their own packages: collectors fetch publications from the networks,
// classifier assigns topic, location, priority and point-16 drop reasons, pipeline moves
// them between stages over a bus (embedded or Kafka), index stores and searches them
// (embedded Bleve or Elasticsearch/OpenSearch), and cases runs the regulation's workflow.
package otklik
