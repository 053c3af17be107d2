using System.Security.Cryptography;
using System.Text;

namespace OrleansLlm;

/// <summary>How an item gets its id when neither the client nor the item's own <c>id</c> field gives one.</summary>
public static class ItemIds
{
    /// <summary>A stable id derived from the item's JSON text, so the same item always maps to the same result.</summary>
    public static string FromContent(string json) =>
        "h-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)).AsSpan(0, 12));
}
