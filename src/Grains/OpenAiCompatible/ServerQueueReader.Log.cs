using Microsoft.Extensions.Logging;

namespace OrleansLlm.OpenAiCompatible;

public sealed partial class ServerQueueReader
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Reading the server's queue from {Url} ({Server} gauges); each answer's queue wait is estimated from it")]
    private static partial void LogReading(ILogger logger, Uri url, string? server);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The server's metrics at {Url} {Problem}: answers carry no queue signal but their own timings, if any, until it does")]
    private static partial void LogNoReading(ILogger logger, Uri url, string problem);
}
