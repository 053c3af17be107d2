using System.Security.Cryptography;
using System.Text;

namespace OrleansLlm.Client.Output;

/// <summary>
/// Ids for OpenAI batch output lines, derived from the batch and item ids, so writing a batch's output twice gives
/// the same ids.
/// </summary>
internal static class OpenAiBatchIds
{
    public static string Of(string batchId, string itemId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{batchId}\0{itemId}")).AsSpan(0, 12));

    public static string Line(string hash) => $"batch_req_{hash}";
}
