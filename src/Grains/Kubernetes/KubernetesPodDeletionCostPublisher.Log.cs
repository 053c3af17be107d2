using Microsoft.Extensions.Logging;

namespace OrleansLlm.Kubernetes;

public sealed partial class KubernetesPodDeletionCostPublisher
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Pod {Pod} is not in namespace {Namespace} (any more); its deletion cost is not set")]
    private static partial void LogPodNotFound(ILogger logger, string pod, string @namespace);
}
