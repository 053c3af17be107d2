namespace OrleansLlm.Silo.Batches;

public sealed partial class BatchFiles
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Served the {File} file of batch {BatchId}: {Lines} lines")]
    private static partial void LogWritten(ILogger logger, string file, string batchId, int lines);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {File} file of batch {BatchId} broke off; the download was aborted")]
    private static partial void LogBrokenOff(ILogger logger, Exception exception, string file, string batchId);
}
