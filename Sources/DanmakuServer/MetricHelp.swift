// Danmaku — a live-stream bullet-comment service.

/// The `# HELP` text of every metric a node exports (docs/PROTOCOL.md lists the same). A metric
/// missing here is exported without help; `MetricsTests` fails on that.
enum MetricHelp {
    static let text: [String: String] = [
        "danmaku_comments_accepted_total": "Comments answered 201.",
        "danmaku_comments_rejected_total": "Comments refused, by error code.",
        "danmaku_idempotency_store_failures_total": "Idempotency keys whose answer or release the store did not take (each stays reserved for its window).",
        "danmaku_post_duration_seconds": "Time from a post's arrival at the logic tier to its answer (checks, store, publish), by outcome.",
        "danmaku_connections": "Open connections, HTTP and WebSocket (those refused by the per-address cap not counted).",
        "danmaku_viewers": "Connected viewers.",
        "danmaku_rooms": "Rooms with viewers, summed over event loops.",
        "danmaku_deliveries_total": "Comments written to viewers.",
        "danmaku_frames_total": "Batch frames written to viewers.",
        "danmaku_sent_bytes_total": "Bytes of batch frames written to viewers, as sent (after compression).",
        "danmaku_shed_total": "Comments a room's display budget left out of viewers' batches.",
        "danmaku_pings_total": "Pings written to viewers on their own.",
        "danmaku_batch_delay_seconds": "From a batch's first comment's arrival on a push loop to its write to the room's last viewer there.",
        "danmaku_room_delay_seconds": "The longest delay of a room's last batch on each push loop.",
        "danmaku_overloaded_rooms": "Rooms on each push loop that could not be served within --max-batch-window-ms, widened up to --max-delay-ms.",
        "danmaku_pings_with_batches_total": "Pings written to viewers together with a batch, in its system call.",
        "danmaku_merged_total": "Repeated comments sent as part of another in their batch (merged repeats), once per batch.",
        "danmaku_batch_comments": "Comments per batch frame.",
        "danmaku_flush_duration_seconds": "Time to write one event loop's due batches.",
        "danmaku_room_fanout_seconds": "From a room's batch starting out on an event loop to its last viewer there written, by the room's viewers on that loop.",
        "danmaku_batch_wait_seconds": "How long a batch's first comment waited on its event loop before the batch went out (the window, plus the loop's other work).",
        "danmaku_batch_window_seconds": "The widest batch window in force on the event loop (its busiest room's).",
        "danmaku_slow_consumer_closes_total": "Viewers closed with 1008 for not reading.",
        "danmaku_bus_latency_seconds": "Push nodes: from a comment's acceptance to its arrival from the bus (first comment of each message).",
        "danmaku_bus_messages_published_total": "Cluster mode, logic nodes: batches published to Redis.",
        "danmaku_bus_publish_failures_total": "Cluster mode, logic nodes: publishes Redis did not take (push nodes repair them from the stream).",
        "danmaku_bus_messages_received_total": "Cluster mode, push nodes: bus messages received.",
        "danmaku_bus_comments_repaired_total": "Cluster mode, push nodes: comments read from the stream because pub/sub did not bring them.",
        "danmaku_bus_retractions_repaired_total": "Cluster mode, push nodes: retractions read back from the room's retraction stream because pub/sub did not bring them.",
        "danmaku_bus_comments_renumbered_total": "Cluster mode, push nodes: comments a failover numbered with a seq this node had already passed (its viewers were told a gap for it).",
        "danmaku_bus_comments_lost_retracted_total": "Cluster mode, push nodes: comments this node passed on that a failover lost (history does not hold them), taken off its viewers' screens (retract reason lost).",
        "danmaku_bus_counters_raised_total": "Cluster mode, push nodes: room counters raised back past seqs this node was given, after a failover promoted a master that lacked them.",
        "danmaku_bus_comments_unreplicated_total": "Cluster mode, logic nodes: comments taken back because fewer replicas than --bus-min-replicas confirmed them.",
    ]
}
