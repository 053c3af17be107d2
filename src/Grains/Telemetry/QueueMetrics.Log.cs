using Microsoft.Extensions.Logging;

namespace OrleansLlm.Telemetry;

public sealed partial class QueueMetrics
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the queue's depth from Redis at {Endpoint} failed; the orleansllm_queue_* gauges are left out of this scrape: {Error}")]
    private static partial void LogReadFailed(ILogger logger, string endpoint, string error);
}
