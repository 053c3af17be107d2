using System.Runtime.CompilerServices;

namespace OrleansLlm.Client;

/// <summary>Reads the dead-letter list page by page, as <see cref="BatchResults"/> reads results.</summary>
public static class DeadLetters
{
    public const int DefaultPageSize = 500;

    /// <summary>Every dead letter of the queue, or of one batch, oldest first.</summary>
    public static async IAsyncEnumerable<DeadLetter> ReadAsync(
        IQueueGrain queue, string? batchId, [EnumeratorCancellation] CancellationToken cancellationToken, int pageSize = DefaultPageSize)
    {
        string? cursor = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await queue.GetDeadLettersAsync(batchId, cursor, pageSize, cancellationToken);
            foreach (var deadLetter in page.DeadLetters)
            {
                yield return deadLetter;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }
}
