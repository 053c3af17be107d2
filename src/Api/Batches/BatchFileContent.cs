using System.Text;
using OrleansLlm.Api.Files;
using OrleansLlm.Client;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Api.Batches;

/// <summary>
/// A batch's output file (its results, as <c>results --format openai</c> writes them) and error file (its dead
/// letters, as <c>results --errors</c>), written a page of results at a time: never whole in memory.
/// </summary>
public sealed class BatchFileContent(IGrainFactory grains) : IFileContent
{
    private static readonly byte[] NewLine = "\n"u8.ToArray();

    public async Task WriteAsync(ApiFile file, Stream body, CancellationToken cancellationToken)
    {
        await foreach (var line in LinesAsync(file, cancellationToken))
        {
            await body.WriteAsync(Encoding.UTF8.GetBytes(line), cancellationToken);
            await body.WriteAsync(NewLine, cancellationToken);
        }
    }

    public async Task<long> CountAsync(ApiFile file, CancellationToken cancellationToken)
    {
        var bytes = 0L;
        await foreach (var line in LinesAsync(file, cancellationToken))
        {
            bytes += Encoding.UTF8.GetByteCount(line) + NewLine.Length;
        }

        return bytes;
    }

    private IAsyncEnumerable<string> LinesAsync(ApiFile file, CancellationToken cancellationToken) => file.Errors
        ? DeadLetters.ReadAsync(grains.GetGrain<IQueueGrain>(0), file.Batch, cancellationToken).Select(OpenAiErrorWriter.Line)
        : BatchResults.ReadAsync(grains.GetGrain<IBatchGrain>(file.Batch!), cancellationToken).Select(json => OpenAiResultWriter.Line(ResultDocument.Read(json)));
}
