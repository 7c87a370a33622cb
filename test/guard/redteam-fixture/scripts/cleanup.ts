import { PrismaClient } from '@prisma/client';
const prisma = new PrismaClient();
async function main() {
  await prisma.order.deleteMany({});
  await prisma.business.deleteMany();
}
main().finally(() => prisma.$disconnect());
