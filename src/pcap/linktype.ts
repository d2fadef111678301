/** Link-layer header types (tcpdump.org/linktypes.html) that lockstep decodes. */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_OLD: 12,
  RAW_OLD_OPENBSD: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export function linkTypeName(linkType: number): string {
  for (const [name, value] of Object.entries(LinkType)) if (value === linkType) return name;
  return `LINKTYPE_${linkType}`;
}
