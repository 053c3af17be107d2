using Microsoft.Extensions.Logging;

namespace OrleansLlm.Kubernetes;

public sealed partial class PodDeletionCostTracker
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Pod {Pod} deletion cost set to {Cost}")]
    private static partial void LogPublished(ILogger logger, string pod, int cost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Setting the deletion cost of pod {Pod} to {Cost} failed; it is tried again on the next round")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string pod, int cost);
}
