using Microsoft.Extensions.Logging;

namespace OrleansLlm.Kubernetes;

public sealed partial class PodDeletionCostReporter
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Pod {Pod} is now {Bucket}: deletion cost {Cost}")]
    private static partial void LogPublished(ILogger logger, string pod, PodDeletionCostBucket bucket, int cost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Setting pod {Pod} to {Bucket} failed; it is tried again on the next round")]
    private static partial void LogPublishFailed(ILogger logger, Exception ex, string pod, PodDeletionCostBucket bucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading pod {Pod}'s deletion cost failed; its bucket is written on the next round")]
    private static partial void LogReadFailed(ILogger logger, Exception ex, string pod);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pod {Pod} is not in namespace {Namespace} (any more): this silo stops setting its deletion cost")]
    private static partial void LogPodNotFound(ILogger logger, string pod, string @namespace);
}
